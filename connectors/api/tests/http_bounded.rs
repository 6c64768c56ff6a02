//! Downloads bounded by a size limit (`HttpClient::get_bytes`): a body streamed without a length is read
//! only up to the limit, so a file larger than it never fills memory, and one within it arrives whole.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use twotrack_api::http::{Bounded, HttpClient, HttpSettings};
use twotrack_api::secret::Auth;
use url::Url;

/// A raw server answering every request with a chunked body (no `Content-Length`) of `chunks` chunks of
/// 4 KiB; then, with `endless`, it never ends the body (a client reading it whole would wait forever).
async fn serve_chunked(chunks: usize, endless: bool) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 16 * 1024];
                let mut read = 0;
                while !String::from_utf8_lossy(&buffer[..read]).contains("\r\n\r\n") {
                    match socket.read(&mut buffer[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let head =
                    "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = [b"1000\r\n".as_slice(), &[7u8; 4096], b"\r\n"].concat();
                for _ in 0..chunks {
                    if socket.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                if endless {
                    // Keep the connection open without another byte until the client hangs up.
                    let _ = socket.read(&mut buffer).await;
                    return;
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    url
}

fn client(url: Url) -> HttpClient {
    let auth = Auth::Basic { user: "u".into(), token: "t".into() };
    let settings = HttpSettings {
        per_second: 0.0,
        request_timeout: Duration::from_secs(10),
        max_retries: 0,
        ..HttpSettings::new("bounded", url, auth)
    };
    HttpClient::new(settings).unwrap()
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_not_read_past_it() {
    // 128 KiB sent, and a body that never ends; 64 KiB allowed: the answer comes once the limit is passed
    // (reading the whole body would run into the request timeout).
    let url = serve_chunked(32, true).await;
    let answer = client(url).get_bytes("/file", &[], 64 * 1024).await.unwrap();
    assert_eq!(answer.body, Bounded::TooLarge);
}

#[tokio::test]
async fn a_streamed_body_within_the_limit_arrives_whole() {
    let url = serve_chunked(3, false).await;
    let answer = client(url).get_bytes("/file", &[], 3 * 4096).await.unwrap();
    assert_eq!(answer.body, Bounded::Complete(vec![7u8; 3 * 4096].into()));
}
