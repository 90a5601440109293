//! OTLP/HTTP's transport: opentelemetry-otlp's `HttpClient` over the hyper-util client (with
//! rustls for `https://`) the rest of the router already uses, instead of pulling in reqwest.
//! Requests run on the tokio runtime captured at construction, so the SDK's own export thread
//! can await them.

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{HttpClient, HttpError};

/// Largest response body read (a collector's answer is small).
const MAX_RESPONSE: usize = 4 << 20;

#[derive(Debug)]
pub(super) struct HyperClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    runtime: tokio::runtime::Handle,
}

impl HyperClient {
    pub(super) fn new() -> HyperClient {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        HyperClient {
            client: Client::builder(TokioExecutor::new()).build(https),
            runtime: tokio::runtime::Handle::current(),
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for HyperClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let task = self.runtime.spawn(async move {
            let (parts, body) = request.into_parts();
            let res = client
                .request(Request::from_parts(parts, Full::new(body)))
                .await
                .map_err(|e| Box::new(e) as HttpError)?;
            let (parts, body) = res.into_parts();
            let body = http_body_util::Limited::new(body, MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| e as HttpError)?
                .to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        });
        task.await.map_err(|e| Box::new(e) as HttpError)?
    }
}
