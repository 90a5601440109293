#!/usr/bin/env python3
"""One-shot: repoint the comments of translate/src, dataplane/src and cli/src that cite the
external protocols.md / reliability.md to docs/ in the repository. Run once from the repository
root after merging the branch that added docs/, review `git diff`, commit, delete this script.

Every replacement is an exact substring that must occur exactly once in its file; one that no
longer matches (the line was edited meanwhile) is listed and skipped, nothing else changes."""

import sys
from pathlib import Path

P = "docs/protocols.md"
C = "docs/translation-cases.md"
R = "docs/reliability.md"

EDITS = [
    # translate/src
    ("translate/src/request/tests.rs",
     "//! Request translation tests: the protocols.md §4 vectors decoded into the IR and encoded to",
     "//! Request translation tests: the reference vectors (`testkit::vectors`) decoded into the IR and encoded to"),
    ("translate/src/request/tests.rs",
     "//! (`cross`), and the §3 edge cases (`cases`, `params`).",
     f"//! (`cross`), and the edge cases of {C} (`cases`, `params`)."),
    ("translate/src/request/tests/cross.rs",
     "//! Every caller → upstream pair of the §4 tool follow-up conversation:",
     "//! Every caller → upstream pair of the reference tool follow-up conversation:"),
    ("translate/src/request/schema.rs", "(protocols.md E25)", f"({C}#e25)"),
    ("translate/src/response/tests.rs",
     "//! Tests for whole-answer translation: the protocols.md §4 vectors decoded to the IR, the IR",
     "//! Tests for whole-answer translation: the reference vectors (`testkit::vectors`) decoded to the IR, the IR"),
    ("translate/src/response/tests.rs",
     "// Same-wire: what §1 requires of each SDK model is present.",
     f"// Same-wire: what {P}#wire-reference requires of each SDK model is present."),
    ("translate/src/response/messages.rs", "(protocols.md §1.3, §4.3)", f"({P}#messages)"),
    ("translate/src/response/responses.rs", "(protocols.md §1.2, §4.2)", f"({P}#responses)"),
    ("translate/src/response/chat.rs", "(protocols.md §1.1, §4.1)", f"({P}#chat-completions)"),
    ("translate/src/response/gemini.rs", "(protocols.md §1.4, §4.4)", f"({P}#gemini)"),
    ("translate/src/response/tests/errors.rs",
     "// §4.1: a bad key is a 401", "// The Chat 401 vector: a bad key is a 401"),
    ("translate/src/response/tests/edge.rs",
     "(protocols.md §2.6, §2.7, E4, E6, E15, E27, E37)",
     f"({P}#finish-reasons, #usage; E4, E6, E15, E27, E37)"),
    ("translate/src/sse.rs", "(reliability.md §2.2)", f"({R}#limits)"),
    ("translate/src/ir.rs", "//! Conventions (protocols.md §2):", f"//! Conventions ({P}#the-ir):"),
    ("translate/src/ir.rs", "(protocols.md E15/E16)", f"({C}#e15, #e16)"),
    ("translate/src/response.rs",
     "(protocols.md §1, §2.6, §2.7, §4)", f"({P}: #wire-reference, #finish-reasons, #usage)"),
    ("translate/src/response.rs",
     '(protocols.md §1.1–§1.4 "Errors")', f"({P}#error-envelopes)"),
    ("translate/src/response.rs",
     "need (protocols.md\n/// E36: never a half object).",
     f"need\n/// ({C}#e36: never a half object)."),
    ("translate/src/names.rs", "(protocols.md E26)", f"({C}#e26)"),
    ("translate/src/stream/decode/tests.rs",
     "//! Decoder tests: the §4 stream vectors", "//! Decoder tests: the reference stream vectors"),
    ("translate/src/stream/decode/messages.rs", "(protocols.md §2.9, E3, E13)", f"({P}#stream-decoders, E3, E13)"),
    ("translate/src/stream/decode/messages.rs", "(protocols.md E3)", f"({C}#e3)"),
    ("translate/src/stream/decode/messages.rs", "/// protocols.md §2.6.", f"/// {P}#finish-reasons."),
    ("translate/src/stream/decode/responses.rs", "(protocols.md §2.9, E5, E6, E10)", f"({P}#stream-decoders, E5, E6, E10)"),
    ("translate/src/stream/decode/responses.rs", "/// protocols.md §2.7:", f"/// {P}#usage:"),
    ("translate/src/stream/decode/tests/chat.rs", "// §2.10 A:", f"// {P}#chat-upstream-messages-caller:"),
    ("translate/src/stream/decode/chat.rs", "(protocols.md §2.9, E1, E7–E12)", f"({P}#stream-decoders, E1, E7–E12)"),
    ("translate/src/stream/decode/chat.rs", "(protocols.md §2.10 A)", f"({P}#chat-upstream-messages-caller)"),
    ("translate/src/stream/decode/chat.rs", "/// protocols.md §2.6.", f"/// {P}#finish-reasons."),
    ("translate/src/stream/decode/chat.rs", "/// protocols.md §2.7:", f"/// {P}#usage:"),
    ("translate/src/stream/decode/gemini.rs", "(protocols.md §2.9, E10,", f"({P}#stream-decoders, E10,"),
    ("translate/src/stream/decode/gemini.rs", "/// protocols.md §2.6 (", f"/// {P}#finish-reasons ("),
    ("translate/src/stream/encode/tests.rs",
     "//! Stream encoder tests: exact bytes for the §4 shapes,",
     "//! Stream encoder tests: exact bytes for the reference shapes,"),
    ("translate/src/stream/encode/messages.rs", "(protocols.md §2.8)", f"({P}#stream-encoders)"),
    ("translate/src/stream/encode/responses.rs", "(protocols.md §2.8)", f"({P}#stream-encoders)"),
    ("translate/src/stream/encode/chat.rs", "(protocols.md §2.8)", f"({P}#stream-encoders)"),
    ("translate/src/stream/encode/tests/messages.rs", "/// E13 and §2.8:", f"/// E13 and {P}#stream-encoders:"),
    ("translate/src/stream/encode/tests/responses.rs", "/// E14 and §2.8:", f"/// E14 and {P}#stream-encoders:"),
    ("translate/src/stream/encode/gemini.rs",
     "stream for the caller (protocols.md\n//! §2.8):",
     f"stream for the caller\n//! ({P}#stream-encoders):"),
    ("translate/src/stream.rs",
     "(protocols.md §2.1, §2.8, §2.9)", f"({P}#the-ir, #stream-encoders, #stream-decoders)"),
    ("translate/src/request.rs", "(protocols.md E18:", f"({C}#e18:"),
    ("translate/src/ids.rs", "(protocols.md E19, E20)", f"({C}#e19, #e20)"),
    # dataplane/src
    ("dataplane/src/relay.rs", "(protocols.md E31)", f"({C}#e31)"),
    ("dataplane/src/budget.rs", "reliability.md §2.4)", f"{R}#retry-budget)"),
    ("dataplane/src/error.rs", "`protocols.md` §1:", f"`{P}#error-envelopes`:"),
]


def prefix(line: str) -> str | None:
    """The comment marker with its indentation (`    /// `), or None for a code line."""
    stripped = line.lstrip(" ")
    for marker in ("//! ", "/// ", "// "):
        if stripped.startswith(marker):
            return line[: len(line) - len(stripped)] + marker
    return None


def reflow(lines: list[str], at: int, width: int = 100) -> list[str]:
    """Rewraps the comment paragraph holding line `at` to `width` columns. A paragraph is a run
    of lines with the same marker, ended by an empty comment line, a list item or a fence."""
    pre = prefix(lines[at])
    if pre is None:
        return lines

    def body(i: int) -> str | None:
        if i < 0 or i >= len(lines) or prefix(lines[i]) != pre:
            return None
        return lines[i][len(pre):]

    def breaks(text: str | None) -> bool:
        return text is None or not text.strip() or text.startswith(("- ", "```", "|"))

    start = at
    while not breaks(body(start)) and not breaks(body(start - 1)) and not body(start).startswith("- "):
        start -= 1
    end = at
    while not breaks(body(end + 1)):
        end += 1
    words: list[str] = []
    for w in " ".join(body(i) for i in range(start, end + 1)).split():
        # Keep a `code span` on one line.
        if words and words[-1].count("`") % 2 == 1:
            words[-1] += " " + w
        else:
            words.append(w)
    out, line = [], ""
    for w in words:
        if line and len(pre) + len(line) + 1 + len(w) > width:
            out.append(pre + line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    out.append(pre + line)
    return lines[:start] + out + lines[end + 1:]


def main() -> int:
    skipped = []
    touched = set()
    for path, old, new in EDITS:
        p = Path(path)
        text = p.read_text() if p.exists() else ""
        if text.count(old) != 1:
            skipped.append(f"{path}: {old!r} found {text.count(old)} times")
            continue
        before = set(text.splitlines())
        lines = text.replace(old, new).splitlines()
        # Rewrap the paragraph of every new line that became too long.
        for _ in range(len(lines)):
            long = [i for i, l in enumerate(lines) if len(l) > 100 and l not in before]
            if not long:
                break
            lines = reflow(lines, long[0])
            before.update(l for l in lines if len(l) > 100)  # cannot be wrapped (a long word)
        p.write_text("\n".join(lines) + "\n")
        touched.add(path)
    left = [
        f"{p}:{n}: {line.strip()}"
        for root in ("translate/src", "dataplane/src", "cli/src")
        for p in sorted(Path(root).rglob("*.rs"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if "protocols.md" in line.replace(P, "") or "reliability.md" in line.replace(R, "")
    ]
    for title, items in (("skipped", skipped), ("still citing the external files", left)):
        if items:
            print(f"{title}:", *items, sep="\n  ")
    print(f"{len(EDITS) - len(skipped)} of {len(EDITS)} citations repointed in {len(touched)} files")
    return 1 if skipped or left else 0


if __name__ == "__main__":
    sys.exit(main())
