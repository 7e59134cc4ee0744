//! A faulty forward HTTP proxy on loopback: give a child process `HTTP_PROXY=http://127.0.0.1:PORT` and it
//! forwards every request, except that part `PUT`s (`?partNumber=`) meet the [`Fault`] a plan chooses: a
//! connection cut without an answer, a 503 SlowDown, a 500, or a delay longer than a presigned URL lives. A proxy
//! [`FaultyProxy::paced`] instead passes every part through a link of fixed speed (`examples/paced_proxy.rs`, for
//! `scripts/autolevel.sh`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What happens to one part `PUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwarded as it is.
    Pass,
    /// The connection is cut once the request is read: no answer at all.
    Reset,
    /// `503 Slow Down` with S3's `SlowDown` error document.
    SlowDown,
    /// `500 Internal Server Error`.
    ServerError,
    /// Held back this long, then forwarded (longer than a URL's life: the store refuses it as expired).
    Delay(Duration),
}

/// A running proxy; its threads end with the test process.
#[derive(Debug)]
pub struct FaultyProxy {
    /// The loopback port it listens on.
    pub port: u16,
    stats: Arc<Stats>,
}

#[derive(Debug, Default)]
struct Stats {
    part_puts: AtomicU32,
    faults: AtomicU32,
    expired: AtomicU32,
    pace: Option<Pace>,
}

/// One link of fixed speed that every part body crosses in turn: concurrent PUTs share it, as they share a real
/// uplink.
#[derive(Debug)]
struct Pace {
    bytes_per_second: f64,
    /// When the link is free again.
    free: Mutex<Instant>,
}

impl Pace {
    /// Holds a body of `bytes` for as long as the link takes to carry it, after the bodies before it.
    fn cross(&self, bytes: usize) {
        let takes = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second);
        let done = {
            let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
            *free = (*free).max(Instant::now()) + takes;
            *free
        };
        std::thread::sleep(done.saturating_duration_since(Instant::now()));
    }
}

impl FaultyProxy {
    /// Starts a proxy that gives the `n`-th part `PUT` it sees (from 0) the fault `plan(n)`.
    pub fn start(plan: impl Fn(u32) -> Fault + Send + Sync + 'static) -> FaultyProxy {
        FaultyProxy::run(Stats::default(), plan)
    }

    /// Starts a proxy that forwards everything, each part `PUT`'s body once a link of `bytes_per_second` has
    /// carried it.
    pub fn paced(bytes_per_second: u64) -> FaultyProxy {
        let pace = Pace { bytes_per_second: bytes_per_second.max(1) as f64, free: Mutex::new(Instant::now()) };
        FaultyProxy::run(Stats { pace: Some(pace), ..Stats::default() }, |_| Fault::Pass)
    }

    fn run(stats: Stats, plan: impl Fn(u32) -> Fault + Send + Sync + 'static) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let port = listener.local_addr().expect("a local address").port();
        let stats = Arc::new(stats);
        let (shared, plan) = (Arc::clone(&stats), Arc::new(plan));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (stats, plan) = (Arc::clone(&shared), Arc::clone(&plan));
                std::thread::spawn(move || {
                    let _ = forward(conn, &stats, &*plan);
                });
            }
        });
        FaultyProxy { port, stats }
    }

    /// `http://127.0.0.1:PORT`, for `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Faults injected so far (every [`Fault`] but `Pass` and `Delay`).
    pub fn faults(&self) -> u32 {
        self.stats.faults.load(Ordering::SeqCst)
    }

    /// Answers in which the store said a presigned URL had expired.
    pub fn expired(&self) -> u32 {
        self.stats.expired.load(Ordering::SeqCst)
    }
}

fn forward(mut client: TcpStream, stats: &Stats, plan: &(dyn Fn(u32) -> Fault + Send + Sync)) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        head.push(line);
    }
    let mut request_line = head[0].split_whitespace();
    let (Some(method), Some(uri)) = (request_line.next(), request_line.next()) else { return Ok(()) };
    let (method, uri) = (method.to_owned(), uri.to_owned());
    let length: usize = head
        .iter()
        .find_map(|h| h.to_ascii_lowercase().strip_prefix("content-length:").and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if method == "PUT" && uri.contains("partNumber=") {
        let fault = plan(stats.part_puts.fetch_add(1, Ordering::SeqCst));
        if !matches!(fault, Fault::Pass | Fault::Delay(_)) {
            stats.faults.fetch_add(1, Ordering::SeqCst);
        }
        match fault {
            Fault::Pass => {}
            Fault::Reset => return client.shutdown(std::net::Shutdown::Both),
            Fault::SlowDown => {
                let xml = "<Error><Code>SlowDown</Code><Message>Reduce your request rate</Message></Error>";
                return write!(
                    client,
                    "HTTP/1.1 503 Slow Down\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                    xml.len()
                );
            }
            Fault::ServerError => {
                return write!(
                    client,
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
            Fault::Delay(by) => std::thread::sleep(by),
        }
        if let Some(pace) = &stats.pace {
            pace.cross(body.len());
        }
    }
    let Some(rest) = uri.strip_prefix("http://") else { return Ok(()) };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut upstream = TcpStream::connect(host)?;
    write!(upstream, "{method} {path} HTTP/1.1\r\n")?;
    for h in &head[1..] {
        let lower = h.to_ascii_lowercase();
        if !lower.starts_with("connection:") && !lower.starts_with("proxy-") {
            upstream.write_all(h.as_bytes())?;
        }
    }
    upstream.write_all(b"Connection: close\r\n\r\n")?;
    // A store that refuses early (an expired URL) answers and closes before reading the body: keep its answer.
    let _ = upstream.write_all(&body);
    let mut answer = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    while let Ok(n) = upstream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    if answer.starts_with(b"HTTP/1.1 403") && String::from_utf8_lossy(&answer).contains("expired") {
        stats.expired.fetch_add(1, Ordering::SeqCst);
    }
    client.write_all(&answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream answering every request `200` with its request line as the body. It reads the whole request
    /// first: closing a socket with unread bytes sends a reset, which can overtake the answer.
    fn echo_upstream() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim_end().is_empty() {
                        break;
                    }
                    if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap();
                    }
                }
                reader.read_exact(&mut vec![0; length]).unwrap();
                let line = line.trim_end();
                write!(conn, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{line}", line.len()).unwrap();
            }
        });
        port
    }

    fn through(proxy: &FaultyProxy, upstream: u16, method: &str, path: &str) -> String {
        let mut conn = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        write!(conn, "{method} http://127.0.0.1:{upstream}{path} HTTP/1.1\r\nContent-Length: 2\r\n\r\nab").unwrap();
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        answer
    }

    #[test]
    fn faults_hit_part_puts_in_plan_order_and_the_rest_is_forwarded() {
        let upstream = echo_upstream();
        let proxy =
            FaultyProxy::start(|n| [Fault::Reset, Fault::SlowDown, Fault::ServerError, Fault::Pass][n as usize % 4]);
        let part = "/bucket/key?partNumber=1&uploadId=u";
        assert_eq!(through(&proxy, upstream, "PUT", part), "", "reset: no answer");
        assert!(through(&proxy, upstream, "PUT", part).contains("503 Slow Down"));
        assert!(through(&proxy, upstream, "PUT", part).starts_with("HTTP/1.1 500"));
        assert!(through(&proxy, upstream, "PUT", part).ends_with(&format!("PUT {part} HTTP/1.1")));
        assert!(through(&proxy, upstream, "GET", "/bucket/key").ends_with("GET /bucket/key HTTP/1.1"));
        assert_eq!(proxy.faults(), 3);
    }

    #[test]
    fn a_paced_link_carries_part_bodies_one_after_another() {
        let pace = Pace { bytes_per_second: 1000.0, free: Mutex::new(Instant::now()) };
        pace.cross(10);
        let after_one = *pace.free.lock().unwrap();
        pace.cross(20);
        let after_two = *pace.free.lock().unwrap();
        assert!(after_two >= after_one + Duration::from_millis(20), "the second body waits for the first");
        let upstream = echo_upstream();
        let proxy = FaultyProxy::paced(1 << 20);
        assert!(through(&proxy, upstream, "PUT", "/b/k?partNumber=1&uploadId=u").ends_with("HTTP/1.1"));
        assert_eq!(proxy.faults(), 0);
    }
}
