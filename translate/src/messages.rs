//! Anthropic Messages (`POST /v1/messages`): every way this wire protocol spells things — its
//! request blocks, whole answers, the named stream events — lives here.

pub(crate) mod classify;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod frames;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod wire;
