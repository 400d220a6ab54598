//! Uploads through a real server: a large one streams with flat memory (the server's peak
//! resident size after receiving 1 GiB stays far below the size of the data), and one cut
//! off midway leaves the image `queued` with no partial file.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::{json, Value};

const SIZE: u64 = 1 << 30;

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// One HTTP/1.1 request on a fresh connection; returns the status and body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<(String, String)>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write body");
    read_response(s)
}

fn read_response(s: TcpStream) -> (u16, String, Vec<(String, String)>) {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status = line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("status code");
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut body = String::new();
    let _ = r.read_to_string(&mut body);
    (status, body, headers)
}

/// A token and a new raw image on `addr`.
fn token_and_image(addr: &str) -> (String, String) {
    let auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin",
        "domain": {"id": "default"}, "password": support::ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
    let (status, _, headers) = http(
        addr,
        "POST",
        "/identity/v3/auth/tokens",
        &[("Content-Type", "application/json")],
        auth.to_string().as_bytes(),
    );
    assert_eq!(status, 201);
    let token = headers.iter().find(|(k, _)| k == "x-subject-token").map(|(_, v)| v.clone()).expect("token");
    let create = json!({"name": "big", "disk_format": "raw", "container_format": "bare"});
    let (status, body, _) = http(
        addr,
        "POST",
        "/image/v2/images",
        &[("Content-Type", "application/json"), ("X-Auth-Token", &token)],
        create.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).expect("json")["id"].as_str().expect("id").to_string();
    (token, id)
}

fn image_status(addr: &str, token: &str, id: &str) -> Value {
    let (status, body, _) = http(addr, "GET", &format!("/image/v2/images/{id}"), &[("X-Auth-Token", token)], b"");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

#[test]
fn a_cut_connection_leaves_the_image_queued_with_no_partial_file() {
    let server = support::start();
    let addr = server.url.trim_start_matches("http://").to_string();
    let (token, id) = token_and_image(&addr);
    let mut s = TcpStream::connect(&addr).expect("connect");
    let head = format!(
        "PUT /image/v2/images/{id}/file HTTP/1.1\r\nHost: {addr}\r\nX-Auth-Token: {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        64 << 20
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(&vec![7u8; 4 << 20]).expect("part of the data");
    drop(s);
    let staging = server.data.path().join("images/.staging");
    // The server notices the cut when its next read fails; wait for that (bounded), then check.
    let mut image = image_status(&addr, &token, &id);
    for _ in 0..600 {
        if image["status"] == "queued" && std::fs::read_dir(&staging).map(|mut d| d.next().is_none()).unwrap_or(false) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        image = image_status(&addr, &token, &id);
    }
    assert_eq!(image["status"], "queued", "{image}");
    assert_eq!(image["size"], Value::Null);
    assert!(std::fs::read_dir(&staging).expect("staging dir").next().is_none(), "no partial file is left");
    assert!(!server.data.path().join("images").join(&id).exists());
}

#[test]
fn a_one_gib_upload_keeps_server_memory_flat() {
    let server = support::start();
    let addr = server.url.trim_start_matches("http://").to_string();
    let (token, id) = token_and_image(&addr);
    let before = peak_rss_kib(server.pid());

    let mut s = TcpStream::connect(&addr).expect("connect");
    let head = format!(
        "PUT /image/v2/images/{id}/file HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Auth-Token: {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {SIZE}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("write");
    let chunk: Vec<u8> = (0..(1u32 << 20)).map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    for _ in 0..(SIZE >> 20) {
        s.write_all(&chunk).expect("stream");
    }
    let (status, body, _) = read_response(s);
    assert_eq!(status, 204, "{body}");

    let (status, body, _) = http(&addr, "GET", &format!("/image/v2/images/{id}"), &[("X-Auth-Token", &token)], b"");
    assert_eq!(status, 200);
    let image: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(image["size"], SIZE);
    assert_eq!(image["status"], "active");
    let after = peak_rss_kib(server.pid());
    let grown_mib = after.saturating_sub(before) / 1024;
    eprintln!("server peak RSS: {} MiB before, {} MiB after a {} MiB upload", before / 1024, after / 1024, SIZE >> 20);
    assert!(grown_mib < 64, "peak RSS grew by {grown_mib} MiB while streaming {} MiB", SIZE >> 20);
}
