//! One keep-alive HTTP/1.1 connection on a glommio executor.
//!
//! Strictly one request in flight per connection (no pipelining): that is
//! how DynamoDB SDKs behave, and it keeps latency attribution exact. A
//! connection that fails or is closed by the server is dropped and re-dialed
//! on the next request; the failed request is reported to the caller, never
//! retried silently (a retry would hide the latency the user pays).

use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use futures_rustls::client::TlsStream;
use glommio::net::TcpStream;

use crate::error::{LoadgenError, Result};
use crate::http::{Endpoint, Response, parse_response_with, write_dynamo_request};
use crate::sigv4::Signer;

const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Responses larger than this are treated as a protocol error (DynamoDB
/// caps pages at 1 MB; BatchGet of 100 × 400 KB is the theoretical max).
const RESPONSE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A dialed connection: plaintext, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(buf).await,
            Stream::Tls(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }
}

pub struct Conn {
    endpoint: Endpoint,
    stream: Option<Stream>,
    write_buf: Vec<u8>,
    read_buf: Vec<u8>,
    read_filled: usize,
}

impl Conn {
    pub fn new(endpoint: Endpoint) -> Self {
        Conn {
            endpoint,
            stream: None,
            write_buf: Vec::with_capacity(4096),
            read_buf: vec![0; READ_CHUNK_BYTES],
            read_filled: 0,
        }
    }

    async fn connected(&mut self) -> Result<&mut Stream> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.endpoint.addr.as_str())
                .await
                .map_err(|e| LoadgenError::io(&self.endpoint.addr, e.into()))?;
            // Small request/response pairs: Nagle would add up to 40 ms.
            stream
                .set_nodelay(true)
                .map_err(|e| LoadgenError::io(&self.endpoint.addr, e.into()))?;
            let stream = if self.endpoint.tls {
                let connector = crate::tls::connector().ok_or_else(|| {
                    LoadgenError::InvalidArgument("https:// endpoints need --ca FILE".into())
                })?;
                let host = self
                    .endpoint
                    .host_header
                    .rsplit_once(':')
                    .map_or(self.endpoint.host_header.as_str(), |(h, _)| h)
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string();
                let name = rustls_pki_types::ServerName::try_from(host)
                    .map_err(|e| LoadgenError::InvalidArgument(format!("TLS server name: {e}")))?;
                let tls = connector
                    .connect(name, stream)
                    .await
                    .map_err(|e| LoadgenError::io(&self.endpoint.addr, e))?;
                Stream::Tls(Box::new(tls))
            } else {
                Stream::Plain(stream)
            };
            self.stream = Some(stream);
            self.read_filled = 0;
        }
        match self.stream.as_mut() {
            Some(s) => Ok(s),
            None => Err(LoadgenError::Http("connection vanished".into())),
        }
    }

    /// Sends one signed DynamoDB request and waits for its response. With
    /// `keep_success_body == false`, 2xx bodies are discarded unread.
    pub async fn call(
        &mut self,
        signer: &mut Signer,
        target: &str,
        body: &[u8],
        keep_success_body: bool,
    ) -> Result<Response> {
        self.write_buf.clear();
        write_dynamo_request(&mut self.write_buf, &self.endpoint, signer, target, body);
        let result = self.round_trip(keep_success_body).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    /// [`Conn::call`] with a deadline. Without one, a single hung request
    /// would keep a run from ever ending. On timeout the connection is
    /// dropped: the late response would otherwise answer the next request.
    pub async fn call_within(
        &mut self,
        signer: &mut Signer,
        target: &str,
        body: &[u8],
        keep_success_body: bool,
        timeout: Option<Duration>,
    ) -> Result<Response> {
        let Some(limit) = timeout else {
            return self.call(signer, target, body, keep_success_body).await;
        };
        let outcome = futures_lite::future::or(
            async { Some(self.call(signer, target, body, keep_success_body).await) },
            async {
                glommio::timer::sleep(limit).await;
                None
            },
        )
        .await;
        match outcome {
            Some(result) => result,
            None => {
                self.stream = None;
                self.read_filled = 0;
                Err(LoadgenError::Timeout(limit))
            }
        }
    }

    async fn round_trip(&mut self, keep_success_body: bool) -> Result<Response> {
        self.connected().await?;
        // Split borrows: the stream is used while buffers and the address
        // (for error messages) are touched.
        let Conn {
            endpoint,
            stream,
            write_buf,
            read_buf,
            read_filled,
        } = self;
        let Some(stream) = stream.as_mut() else {
            return Err(LoadgenError::Http("connection vanished".into()));
        };
        stream
            .write_all(write_buf)
            .await
            .map_err(|e| LoadgenError::io(&endpoint.addr, e))?;
        loop {
            if *read_filled > 0
                && let Some((resp, used)) =
                    parse_response_with(&read_buf[..*read_filled], keep_success_body)?
            {
                read_buf.copy_within(used..*read_filled, 0);
                *read_filled -= used;
                if resp.close {
                    self.stream = None;
                }
                return Ok(resp);
            }
            if *read_filled == read_buf.len() {
                if read_buf.len() >= RESPONSE_BYTES_MAX {
                    return Err(LoadgenError::Http("response too large".into()));
                }
                read_buf.resize(read_buf.len() * 2, 0);
            }
            let n = stream
                .read(&mut read_buf[*read_filled..])
                .await
                .map_err(|e| LoadgenError::io(&endpoint.addr, e))?;
            if n == 0 {
                return Err(LoadgenError::io(
                    &endpoint.addr,
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "server closed connection",
                    ),
                ));
            }
            *read_filled += n;
        }
    }
}
