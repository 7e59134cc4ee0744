//! A forward proxy on loopback whose part PUTs cross a link of fixed speed: `paced_proxy BYTES_PER_SECOND` prints
//! its `http://127.0.0.1:PORT` (for `HTTP_PROXY`) and serves until killed. `scripts/autolevel.sh` emits through it.

use std::io::Write;

fn main() -> Result<(), String> {
    let rate = std::env::args().nth(1).and_then(|a| a.parse::<u64>().ok());
    let rate = rate.ok_or("usage: paced_proxy BYTES_PER_SECOND")?;
    let proxy = cqube_testkit::proxy::FaultyProxy::paced(rate);
    let mut out = std::io::stdout();
    writeln!(out, "{}", proxy.url()).and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    loop {
        std::thread::park();
    }
}
