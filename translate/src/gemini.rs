//! Gemini `generateContent` / `streamGenerateContent`: every way this wire protocol spells
//! things — contents and parts, whole answers, `data:`-only streams and JSON-array streams —
//! lives here.

pub(crate) mod classify;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod frames;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod wire;
