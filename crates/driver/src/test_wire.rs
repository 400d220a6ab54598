//! HTTP at the wire for the fault-injecting proxies the backends' tests put before their
//! emulators (moto, the vCenter simulator): one request read from a client, and one passed
//! on to the emulator with its whole answer read back. Plain HTTP/1.1, one request per
//! connection; written by hand because a proxy that injects faults must see and drop bytes
//! where an HTTP library would hide them.

use std::io::{Read, Write};
use std::net::TcpStream;

/// One request: its head (request line and headers, up to the blank line) and its body.
pub struct Request {
    pub head: String,
    pub body: Vec<u8>,
}

/// Reads one request (its body by Content-Length); `None` when the client closed first.
pub fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>()))
        .and_then(Result::ok)
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Request { head, body: buf.split_off(head_end) }))
}

/// Passes the request to `upstream` (`host:port`) with `Connection: close` and returns the
/// whole answer, as bytes to write back or to drop.
pub fn forward(request: &Request, upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream)?;
    let mut head: String = request
        .head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&request.body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    Ok(answer)
}
