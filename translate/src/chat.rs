//! OpenAI Chat Completions (`POST /v1/chat/completions`): every way this wire protocol spells
//! things — its request fields, whole answers, stream chunks — lives in this module's files.

pub(crate) mod classify;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod frames;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod wire;
