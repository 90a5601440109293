//! A local estimate of a request's input tokens, for `count_tokens` / `countTokens` when no
//! endpoint of the route speaks the caller's protocol. It is an estimate and says so (the data
//! plane answers with `x-bitrouter-token-count: estimate`): no tokenizer is shipped, and each
//! model family tokenizes differently. About four bytes of text make a token in English prose
//! and code for the BPE tokenizers in use; JSON schemas and tool calls count by their text, and
//! every message and tool adds a few tokens of framing. Images count as a flat 1,000.

use crate::ir::{Part, Request};

/// Bytes of text per token.
const BYTES_PER_TOKEN: u64 = 4;
/// Framing per message, tool and system block (role markers, separators).
const PER_ITEM: u64 = 4;
/// An image or document, whatever its size.
const PER_MEDIA: u64 = 1_000;

/// The estimated input tokens of `req` (at least 1).
pub fn estimate(req: &Request) -> u64 {
    let mut bytes = 0u64;
    let mut framing = 0u64;
    let mut media = 0u64;
    for s in &req.system {
        bytes += s.len() as u64;
        framing += PER_ITEM;
    }
    for t in &req.tools {
        bytes += t.name.len() as u64;
        bytes += t.description.as_ref().map_or(0, |d| d.len() as u64);
        bytes += t.parameters.to_string().len() as u64;
        framing += PER_ITEM;
    }
    let part = |p: &Part, bytes: &mut u64, media: &mut u64| match p {
        Part::Text(t) | Part::Refusal(t) => *bytes += t.len() as u64,
        Part::Reasoning(r) => *bytes += r.text.len() as u64,
        Part::ToolCall(c) => *bytes += (c.name.len() + c.arguments.len()) as u64,
        Part::Media(_) => *media += PER_MEDIA,
        Part::ToolResult(_) => {}
    };
    for m in &req.messages {
        framing += PER_ITEM;
        for p in &m.parts {
            part(p, &mut bytes, &mut media);
            if let Part::ToolResult(r) = p {
                for c in &r.content {
                    part(c, &mut bytes, &mut media);
                }
            }
        }
    }
    (bytes.div_ceil(BYTES_PER_TOKEN) + framing + media).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Message, Role};

    #[test]
    fn grows_with_the_text_and_counts_framing() {
        let one = |text: &str| Request {
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::Text(text.into())],
            }],
            ..Request::default()
        };
        assert_eq!(estimate(&Request::default()), 1);
        assert_eq!(estimate(&one("abcd")), 1 + PER_ITEM);
        assert_eq!(estimate(&one(&"x".repeat(4000))), 1000 + PER_ITEM);
        let mut with_system = one("abcd");
        with_system.system.push("s".repeat(400));
        assert_eq!(estimate(&with_system), 1 + 100 + 2 * PER_ITEM);
    }
}
