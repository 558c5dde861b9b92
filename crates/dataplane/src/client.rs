//! The HTTP client the data plane calls upstreams with: hyper-util's pooled client over the
//! [`VettedResolver`], rustls (ring, webpki roots) for https, HTTP/2 where the upstream offers
//! it. It follows no redirect (one could lead anywhere the address check did not look), goes
//! through no proxy from the environment (which would resolve names where the check cannot
//! see) and retries nothing.
//!
//! Not reqwest, which the rest of the gateway uses: on every request its redirect layer parses
//! the URL again and its retry layer clones the request, which cost about 18 µs of CPU a
//! request on the bench machine, a fifth of what the bare relay spends (docs/benchmarks.md).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Request, Response, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::egress::{UpstreamNets, VettedResolver};

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two reads of a stream (its head, then each piece of its body): it may pause while a
/// model thinks. A whole answer has one deadline, the caller's.
pub const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an unused connection to an upstream stays open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Why an upstream request failed. Its text may hold the upstream's address: for the log (the
/// admin's), not for the caller.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the upstream did not answer in time")]
    Timeout,
    #[error("the upstream request failed: {0}")]
    Request(#[source] hyper_util::client::legacy::Error),
    #[error("reading the upstream's answer failed: {0}")]
    Body(#[source] hyper::Error),
    #[error("the upstream's answer is larger than {0} bytes")]
    TooLarge(usize),
}

impl UpstreamError {
    /// A timeout of ours, or the connector's.
    pub fn is_timeout(&self) -> bool {
        gatehouse_api::causes(self).any(|c| {
            matches!(c.downcast_ref::<Self>(), Some(Self::Timeout))
                || c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
        })
    }
}

/// A data plane's connections to its upstreams (cheap to clone: one pool).
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    inner: Client<HttpsConnector<HttpConnector<VettedResolver>>, Full<Bytes>>,
}

impl UpstreamClient {
    /// A client that connects only to the addresses `nets` allows.
    pub fn new(nets: Arc<UpstreamNets>) -> Self {
        let mut http = HttpConnector::new_with_resolver(VettedResolver { nets });
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring supports rustls' default protocol versions")
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        Self { inner }
    }

    /// POSTs `body`, JSON, to `uri` with `headers`; the answer once its head has come, however
    /// long that takes (the caller's deadline bounds it).
    pub async fn post(
        &self,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let mut request = Request::post(uri)
            .body(Full::new(body))
            .expect("a request of a parsed URI and no other parts is valid");
        *request.headers_mut() = headers;
        request.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        let response = self
            .inner
            .request(request)
            .await
            .map_err(UpstreamError::Request)?;
        Ok(response.map(|body| UpstreamBody { body }))
    }
}

/// An upstream answer's body, read with [`READ_TIMEOUT`] between pieces.
#[derive(Debug)]
pub struct UpstreamBody {
    body: Incoming,
}

impl UpstreamBody {
    /// The next piece of the body, within [`READ_TIMEOUT`]; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        tokio::time::timeout(READ_TIMEOUT, self.next_data())
            .await
            .map_err(|_| UpstreamError::Timeout)?
    }

    async fn next_data(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        while let Some(frame) = self.body.frame().await {
            // Trailers carry nothing the data plane reads.
            if let Ok(data) = frame.map_err(UpstreamError::Body)?.into_data() {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// The whole body, refused past `limit` bytes, however long it takes (the caller's deadline
    /// bounds it). A body in one piece is kept, not copied.
    pub async fn bytes(self, limit: usize) -> Result<Bytes, UpstreamError> {
        match Limited::new(self.body, limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) => match e.downcast::<hyper::Error>() {
                Ok(e) => Err(UpstreamError::Body(*e)),
                // `Limited`'s only error of its own.
                Err(_) => Err(UpstreamError::TooLarge(limit)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    /// A TLS server on loopback whose certificate no public root signed: the client speaks TLS
    /// to an https upstream, offers HTTP/2, and refuses the certificate.
    #[tokio::test]
    async fn an_https_upstream_is_spoken_tls_to_and_an_unknown_issuer_refused() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let tcp = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = tcp.local_addr().unwrap();
        let hello = tokio::spawn(async move {
            let (stream, _) = tcp.accept().await.unwrap();
            let start = tokio_rustls::LazyConfigAcceptor::new(
                tokio_rustls::rustls::server::Acceptor::default(),
                stream,
            )
            .await
            .unwrap();
            let offered: Vec<Vec<u8>> = start
                .client_hello()
                .alpn()
                .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
                .unwrap_or_default();
            // The handshake goes on, and the client ends it at the certificate.
            let _ = start.into_stream(acceptor.config().clone()).await;
            offered
        });

        let client = UpstreamClient::new(Arc::new(UpstreamNets::loopback()));
        let uri: Uri = format!("https://{addr}/v1/chat/completions")
            .parse()
            .unwrap();
        let err = client
            .post(uri, HeaderMap::new(), Bytes::from_static(b"{}"))
            .await
            .unwrap_err();
        let refused = gatehouse_api::causes(&err).any(|c| {
            c.downcast_ref::<rustls::Error>().is_some_and(|e| {
                matches!(
                    e,
                    rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
                )
            })
        });
        assert!(refused, "not refused for its issuer: {err:?}");
        assert!(!err.is_timeout());
        let offered = hello.await.unwrap();
        assert_eq!(offered, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    /// An answer in two pieces is read whole; one a byte over the limit is refused as too large.
    #[tokio::test]
    async fn a_body_is_read_whole_within_its_limit_and_refused_past_it() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let tcp = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = tcp.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = tcp.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                // The head and the two-byte body the client sends.
                while !request.ends_with(b"\r\n\r\n{}") {
                    let n = stream.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the request ended early");
                    request.extend_from_slice(&buf[..n]);
                }
                let head =
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                stream.write_all(head).await.unwrap();
                stream.write_all(b"5\r\nhello\r\n").await.unwrap();
                stream.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
                stream.write_all(b"6\r\n world\r\n0\r\n\r\n").await.unwrap();
            }
        });
        let client = UpstreamClient::new(Arc::new(UpstreamNets::loopback()));
        let uri: Uri = format!("http://{addr}/v1/chat/completions")
            .parse()
            .unwrap();
        let read = |limit| {
            let (client, uri) = (client.clone(), uri.clone());
            async move {
                let answer = client
                    .post(uri, HeaderMap::new(), Bytes::from_static(b"{}"))
                    .await
                    .unwrap();
                answer.into_body().bytes(limit).await
            }
        };
        assert_eq!(read(11).await.unwrap(), Bytes::from_static(b"hello world"));
        assert!(matches!(read(10).await, Err(UpstreamError::TooLarge(10))));
    }
}
