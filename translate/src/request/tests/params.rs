//! Parameters: max tokens (E22), temperature (E23), stop, seed and penalties, tool choice and
//! parallel calls, response formats, reasoning effort and budgets, `strict` (E24).

use serde_json::json;

use super::*;

fn with(params: ir::Params) -> ir::Request {
    ir::Request {
        messages: vec![text(Role::User, "q")],
        params,
        ..ir::Request::default()
    }
}

#[test]
fn anthropic_max_tokens_default_and_temperature_clamp() {
    let chat = json!({"model": "x", "messages": [{"role": "user", "content": "q"}], "temperature": 1.5, "top_k": 3});
    let req = dec(CHAT, chat);
    assert_eq!(req.params.max_tokens, None);
    let out = enc(MSGS, &req);
    assert_eq!(out["max_tokens"], json!(4096));
    assert_eq!(out["temperature"], json!(1.0));
    // Chat's legacy `max_tokens` is read and rendered as `max_completion_tokens`.
    let legacy = dec(
        CHAT,
        json!({"model": "x", "messages": [{"role": "user", "content": "q"}], "max_tokens": 77}),
    );
    assert_eq!(enc(CHAT, &legacy)["max_completion_tokens"], json!(77));
    assert_eq!(enc(CHAT, &legacy).get("max_tokens"), None);
    assert_eq!(
        enc(GEM, &legacy)["generationConfig"],
        json!({"maxOutputTokens": 77})
    );
    // Responses rejects budgets under 16.
    let tiny = with(ir::Params {
        max_tokens: Some(5),
        ..ir::Params::default()
    });
    assert_eq!(enc(RESP, &tiny)["max_output_tokens"], json!(16));
}

#[test]
fn stop_seed_and_penalties() {
    let chat = json!({"model": "x", "messages": [{"role": "user", "content": "q"}], "stop": "END"});
    let req = dec(CHAT, chat);
    assert_eq!(req.params.stop, ["END"]);
    assert_eq!(enc(CHAT, &req)["stop"], json!(["END"]));
    assert_eq!(enc(MSGS, &req)["stop_sequences"], json!(["END"]));
    assert_eq!(
        enc(GEM, &req)["generationConfig"]["stopSequences"],
        json!(["END"])
    );
    assert_eq!(enc_err(RESP, &req), unsupported("stop"));
    let seeded = with(ir::Params {
        seed: Some(7),
        presence_penalty: Some(0.5),
        frequency_penalty: Some(0.25),
        top_k: Some(4),
        ..ir::Params::default()
    });
    assert_eq!(enc_err(MSGS, &seeded), unsupported("seed"));
    assert_eq!(enc_err(RESP, &seeded), unsupported("seed"));
    let pen = with(ir::Params {
        presence_penalty: Some(0.5),
        ..ir::Params::default()
    });
    assert_eq!(enc_err(MSGS, &pen), unsupported("presence_penalty"));
    assert_eq!(
        enc(GEM, &seeded)["generationConfig"],
        json!({"seed": 7, "presencePenalty": 0.5, "frequencyPenalty": 0.25, "topK": 4})
    );
    // top_k has no OpenAI spelling: refused under the strict policy `encode` uses (dropped
    // under the lenient one, `fields.rs`).
    assert_eq!(enc_err(CHAT, &seeded), unsupported("top_k"));
    let only_k = with(ir::Params {
        top_k: Some(4),
        ..ir::Params::default()
    });
    assert_eq!(enc_err(RESP, &only_k), unsupported("top_k"));
    let mut no_k = seeded.clone();
    no_k.params.top_k = None;
    assert_eq!(
        enc(CHAT, &no_k),
        json!({"model": "m", "messages": [{"role": "user", "content": "q"}],
               "seed": 7, "presence_penalty": 0.5, "frequency_penalty": 0.25})
    );
}

#[test]
fn tool_choice_every_way() {
    let tool = weather_tool(gemini_schema(), None);
    let req = |tc: ir::ToolChoice, parallel: Option<bool>| ir::Request {
        messages: vec![text(Role::User, "q")],
        tools: vec![tool.clone()],
        tool_choice: Some(tc),
        params: ir::Params {
            parallel_tool_calls: parallel,
            ..ir::Params::default()
        },
        ..ir::Request::default()
    };
    let named = || ir::ToolChoice::Named("get_weather".into());
    let cases = [
        (
            ir::ToolChoice::Auto,
            json!("auto"),
            json!("auto"),
            json!({"type": "auto"}),
            json!({"mode": "AUTO"}),
        ),
        (
            ir::ToolChoice::Required,
            json!("required"),
            json!("required"),
            json!({"type": "any"}),
            json!({"mode": "ANY"}),
        ),
        (
            ir::ToolChoice::None,
            json!("none"),
            json!("none"),
            json!({"type": "none"}),
            json!({"mode": "NONE"}),
        ),
        (
            named(),
            json!({"type": "function", "function": {"name": "get_weather"}}),
            json!({"type": "function", "name": "get_weather"}),
            json!({"type": "tool", "name": "get_weather"}),
            json!({"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
        ),
    ];
    for (tc, chat, resp, msgs, gem) in cases {
        let r = req(tc.clone(), None);
        assert_eq!(enc(CHAT, &r)["tool_choice"], chat);
        assert_eq!(enc(RESP, &r)["tool_choice"], resp);
        assert_eq!(enc(MSGS, &r)["tool_choice"], msgs);
        assert_eq!(enc(GEM, &r)["toolConfig"]["functionCallingConfig"], gem);
        // And back.
        let model = |v: Value, key: &str| {
            let mut b = json!({"model": "x"});
            b[key] = v;
            b
        };
        let mut c = model(json!([{"role": "user", "content": "q"}]), "messages");
        c["tool_choice"] = chat;
        assert_eq!(dec(CHAT, c).tool_choice, Some(tc.clone()));
        let mut rb = model(json!("q"), "input");
        rb["tool_choice"] = resp;
        assert_eq!(dec(RESP, rb).tool_choice, Some(tc.clone()));
        let mut mb = model(json!([{"role": "user", "content": "q"}]), "messages");
        mb["tool_choice"] = msgs;
        assert_eq!(dec(MSGS, mb).tool_choice, Some(tc.clone()));
        let gb = json!({"contents": [{"parts": [{"text": "q"}]}], "toolConfig": {"functionCallingConfig": gem}});
        assert_eq!(dec(GEM, gb).tool_choice, Some(tc));
    }
    // parallel_tool_calls:false ⇄ disable_parallel_tool_use.
    let r = req(named(), Some(false));
    assert_eq!(
        enc(MSGS, &r)["tool_choice"],
        json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})
    );
    assert_eq!(enc(CHAT, &r)["parallel_tool_calls"], json!(false));
    assert_eq!(enc(RESP, &r)["parallel_tool_calls"], json!(false));
    let mut no_choice = req(ir::ToolChoice::Auto, Some(false));
    no_choice.tool_choice = None;
    assert_eq!(
        enc(MSGS, &no_choice)["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    let back = dec(
        MSGS,
        json!({"model": "x", "max_tokens": 9, "messages": [{"role": "user", "content": "q"}],
               "tool_choice": {"type": "any", "disable_parallel_tool_use": true}}),
    );
    assert_eq!(back.params.parallel_tool_calls, Some(false));
    assert_eq!(back.tool_choice, Some(ir::ToolChoice::Required));
}

#[test]
fn responses_tools_are_non_strict_unless_said() {
    let mut r = with(ir::Params::default());
    r.tools = vec![
        weather_tool(schema(), None),
        Tool {
            strict: Some(true),
            ..weather_tool(schema(), None)
        },
    ];
    let tools = enc(RESP, &r)["tools"].clone();
    assert_eq!(tools[0]["strict"], json!(false));
    assert_eq!(tools[1]["strict"], json!(true));
    assert_eq!(enc(CHAT, &r)["tools"][0]["function"].get("strict"), None);
}

#[test]
fn response_formats() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let chat = json!({"model": "x", "messages": [{"role": "user", "content": "q"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": true}}});
    let req = dec(CHAT, chat);
    assert_eq!(
        enc(RESP, &req)["text"],
        json!({"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": true}})
    );
    assert_eq!(
        enc(MSGS, &req)["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );
    assert_eq!(
        enc(GEM, &req)["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": schema})
    );
    assert_eq!(
        enc(CHAT, &req)["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": true}})
    );
    let back = dec(
        RESP,
        json!({"model": "x", "input": "q", "text": {"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": true}}}),
    );
    assert_eq!(back.params.response_format, req.params.response_format);
    let gem = dec(
        GEM,
        json!({"contents": [{"parts": [{"text": "q"}]}], "generationConfig": {"responseMimeType": "application/json"}}),
    );
    assert_eq!(
        gem.params.response_format,
        Some(ir::ResponseFormat::JsonObject)
    );
    assert_eq!(
        enc_err(MSGS, &gem),
        unsupported("response_format json_object")
    );
    assert_eq!(
        enc(CHAT, &gem)["response_format"],
        json!({"type": "json_object"})
    );
    assert_eq!(
        enc(RESP, &gem)["text"],
        json!({"format": {"type": "json_object"}})
    );
}

#[test]
fn reasoning_effort_and_budgets() {
    let chat = dec(
        CHAT,
        json!({"model": "x", "messages": [{"role": "user", "content": "q"}], "reasoning_effort": "medium"}),
    );
    assert_eq!(chat.params.reasoning_effort.as_deref(), Some("medium"));
    assert_eq!(enc(RESP, &chat)["reasoning"], json!({"effort": "medium"}));
    assert_eq!(
        enc(MSGS, &chat)["output_config"],
        json!({"effort": "medium"})
    );
    assert_eq!(
        enc(GEM, &chat)["generationConfig"],
        json!({"thinkingConfig": {"thinkingLevel": "MEDIUM"}})
    );
    let resp = dec(
        RESP,
        json!({"model": "x", "input": "q", "reasoning": {"effort": "high", "summary": "auto"}}),
    );
    assert_eq!(enc(CHAT, &resp)["reasoning_effort"], json!("high"));

    // An Anthropic budget: kept for Anthropic and Gemini, an effort for OpenAI.
    let msgs = dec(
        MSGS,
        json!({"model": "x", "max_tokens": 16000, "temperature": 0.5, "top_k": 5,
               "thinking": {"type": "enabled", "budget_tokens": 10000},
               "messages": [{"role": "user", "content": "q"}]}),
    );
    assert_eq!(msgs.params.reasoning_budget, Some(10000));
    assert_eq!(
        enc(GEM, &msgs)["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 10000})
    );
    let mut msgs_no_k = msgs.clone();
    msgs_no_k.params.top_k = None;
    assert_eq!(enc(CHAT, &msgs_no_k)["reasoning_effort"], json!("high"));
    // Thinking allows no temperature or top_k on Anthropic.
    let out = enc(MSGS, &msgs);
    assert_eq!(
        out["thinking"],
        json!({"type": "enabled", "budget_tokens": 10000})
    );
    assert_eq!((out.get("temperature"), out.get("top_k")), (None, None));

    // A budget Anthropic cannot take (not below max_tokens) is left out.
    let gem = dec(
        GEM,
        json!({"contents": [{"parts": [{"text": "q"}]}],
               "generationConfig": {"maxOutputTokens": 1000, "thinkingConfig": {"thinkingBudget": 500}}}),
    );
    assert_eq!(gem.params.reasoning_budget, Some(500));
    assert_eq!(enc(MSGS, &gem).get("thinking"), None);
    // A small budget is raised to Anthropic's minimum when max_tokens allows.
    let mut roomy = gem.clone();
    roomy.params.max_tokens = Some(4000);
    assert_eq!(
        enc(MSGS, &roomy)["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );

    let off = dec(
        GEM,
        json!({"contents": [{"parts": [{"text": "q"}]}], "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}),
    );
    assert_eq!(off.params.reasoning_effort.as_deref(), Some("none"));
    assert_eq!(enc(CHAT, &off)["reasoning_effort"], json!("none"));
    assert_eq!(enc(MSGS, &off).get("output_config"), None);
    let level = dec(
        GEM,
        json!({"contents": [{"parts": [{"text": "q"}]}], "generationConfig": {"thinkingConfig": {"thinkingLevel": "LOW"}}}),
    );
    assert_eq!(level.params.reasoning_effort.as_deref(), Some("low"));
    let ant = dec(
        MSGS,
        json!({"model": "x", "max_tokens": 9, "output_config": {"effort": "high"}, "messages": [{"role": "user", "content": "q"}]}),
    );
    assert_eq!(ant.params.reasoning_effort.as_deref(), Some("high"));
}
