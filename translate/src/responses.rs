//! OpenAI Responses (`POST /v1/responses`): every way this wire protocol spells things — its
//! request items, whole answers, the typed stream events and their lifecycle — lives here.

pub(crate) mod classify;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod frames;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod wire;
