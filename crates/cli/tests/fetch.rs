//! `craters data fetch hrsc` against local mirrors (these machines have no internet): a
//! folder in the public repository's layout, the same as a file:// URL, and an HTTP server on
//! the loopback address serving it; damaged and missing files; the output rule.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

use common::{assert_one_line, craters, s, shared};
use craters_dataset::hrsc::{FILES, verify};

/// A copy of the benchmark in the public repository's layout, made from `../shared`.
fn mirror(root: &Path, benchmark: &Path) {
    for file in &FILES {
        let to = root.join(file.upstream);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(benchmark.join(file.path), to).unwrap();
    }
}

/// Serves `root` over HTTP on 127.0.0.1 for `requests` requests (GET only), then stops.
fn serve(root: &Path, requests: usize) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let root = root.to_path_buf();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut request_line).unwrap();
            // Skip the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let path = request_line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let response = match std::fs::read(root.join(path)) {
                Ok(body) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    [head.into_bytes(), body].concat()
                }
                Err(_) => {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
                }
            };
            let _ = stream.write_all(&response);
        }
    });
    (base, handle)
}

/// `craters data fetch hrsc --from FROM --out OUT`, with `--force` when asked.
fn fetch(from: &str, out: &Path, force: bool) -> std::process::Output {
    let mut args = vec!["data", "fetch", "hrsc", "--from", from, "--out", s(out)];
    if force {
        args.push("--force");
    }
    craters(&args)
}

#[test]
fn fetches_from_a_folder_a_file_url_and_http_and_checks_every_file() {
    let Some(benchmark) = shared("data/hrsc") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let upstream = dir.path().join("upstream");
    mirror(&upstream, &benchmark);

    let from_folder = dir.path().join("from-folder");
    let out = fetch(s(&upstream), &from_folder, false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    verify(&from_folder).unwrap();
    for file in &FILES {
        assert_eq!(
            std::fs::read(from_folder.join(file.path)).unwrap(),
            std::fs::read(benchmark.join(file.path)).unwrap()
        );
    }

    // The benchmark's own layout (a copy like ../shared/data/hrsc) and a file:// URL.
    let from_url = dir.path().join("from-url");
    let url = format!("file://{}", benchmark.display());
    let out = fetch(&url, &from_url, false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    verify(&from_url).unwrap();

    let (base, server) = serve(&upstream, FILES.len());
    let from_http = dir.path().join("from-http");
    let out = fetch(&base, &from_http, false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.join().unwrap();
    verify(&from_http).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("20 files") && stdout.contains("sha256"),
        "{stdout}"
    );

    // The folder exists now: replacing it needs --force, and then works.
    let again = fetch(s(&upstream), &from_folder, false);
    assert_one_line(&again, "from-folder");
    let forced = fetch(s(&upstream), &from_folder, true);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
}

#[test]
fn a_damaged_or_missing_file_is_one_line_and_leaves_nothing() {
    let Some(benchmark) = shared("data/hrsc") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let upstream = dir.path().join("upstream");
    mirror(&upstream, &benchmark);
    let out_dir = dir.path().join("out");

    // One flipped byte in a catalogue.
    let damaged = upstream.join("bandeira2010_gt/2_24_gt.csv");
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&damaged, &bytes).unwrap();
    let out = fetch(s(&upstream), &out_dir, false);
    assert_one_line(&out, "gt/2_24_gt.csv");
    assert!(String::from_utf8_lossy(&out.stderr).contains("sha256"));
    assert!(!out_dir.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    // A missing tile, over HTTP (a 404) and from the folder.
    std::fs::remove_file(upstream.join("urbach2009_tile_images/tile3_24.pgm")).unwrap();
    std::fs::write(&damaged, {
        bytes[10] ^= 1;
        &bytes
    })
    .unwrap();
    let out = fetch(s(&upstream), &out_dir, false);
    assert_one_line(&out, "tiles/tile3_24.pgm: not in");
    let (base, server) = serve(&upstream, FILES.len());
    let out = fetch(&base, &out_dir, false);
    assert_one_line(&out, "404");
    drop(server); // it stopped serving after the failed file; nothing waits for it.
    assert!(!out_dir.exists());

    for (from, needle) in [
        ("ftp://example.org/x", "expected an http(s) URL"),
        ("/no/such/mirror", "no such folder"),
    ] {
        let out = fetch(from, &out_dir, false);
        assert_one_line(&out, needle);
    }

    // Without the benchmark, `data hrsc` says how to get it.
    let missing = dir.path().join("no-benchmark");
    let out = craters(&["data", "hrsc", "--root", s(&missing), "--out", s(&out_dir)]);
    assert_one_line(&out, "craters data fetch hrsc --out DIR");
}
