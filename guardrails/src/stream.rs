//! Checking a streamed text (answer deltas, tool-call argument fragments) as it arrives.
//!
//! The stream keeps the text not yet released. After each delta the held text is scanned
//! whole; everything more than [`WINDOW`] bytes from its end — where no match can still grow —
//! is released, with its redactions applied, except that the release never cuts through a match.
//! So a match split across deltas, at any byte boundary, is found as if the text had come in
//! one piece, as long as it is at most [`WINDOW`] bytes long (every built-in detector's is).

use crate::guard::{Finding, Guard, Outcome, Selection};

/// The most text held back: the longest match found across delta boundaries.
pub const WINDOW: usize = 256;

/// One streamed text's state.
#[derive(Debug, Default)]
pub struct Stream {
    held: String,
    found: Vec<Finding>,
    /// The part being released, reused.
    part: String,
    /// The text is inside a JSON string (tool arguments): redactions never cut quotes or escapes.
    json_safe: bool,
}

impl Stream {
    pub fn new(json_safe: bool) -> Stream {
        Stream {
            json_safe,
            ..Stream::default()
        }
    }

    /// Adds `delta`; appends what may be released to `out`. A blocking match is reported in the
    /// outcome and nothing is released.
    pub fn push(
        &mut self,
        guard: &Guard,
        sel: &Selection,
        delta: &str,
        out: &mut String,
    ) -> Outcome {
        self.held.push_str(delta);
        guard.scan(sel, &self.held, &mut self.found);
        let mut cut = self.held.len().saturating_sub(WINDOW);
        while !self.held.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(f) = self.found.iter().find(|f| f.start < cut && cut < f.end) {
            cut = f.start;
        }
        self.release(guard, cut, out)
    }

    /// The stream ended: checks and releases what is held.
    pub fn finish(&mut self, guard: &Guard, sel: &Selection, out: &mut String) -> Outcome {
        guard.scan(sel, &self.held, &mut self.found);
        self.release(guard, self.held.len(), out)
    }

    /// Whether text is held back.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn release(&mut self, guard: &Guard, cut: usize, out: &mut String) -> Outcome {
        let blocked = self.found.iter().any(|f| guard.blocks(f.rule));
        let n = if blocked {
            self.found.len()
        } else {
            self.found.iter().take_while(|f| f.end <= cut).count()
        };
        self.part.clear();
        self.part.push_str(&self.held[..cut]);
        let outcome = guard.act(&self.found[..n], &mut self.part, self.json_safe);
        if outcome.blocked.is_none() {
            out.push_str(&self.part);
            self.held.drain(..cut);
        }
        outcome
    }
}

#[cfg(test)]
mod tests;
