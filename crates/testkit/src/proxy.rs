//! nginx as a round-robin reverse proxy in front of several instances, with buffering off so
//! SSE streams pass through as they are written. Started on 127.0.0.1 with its own prefix
//! directory and stopped when dropped. nginx comes from Debian (`apt-get install nginx`);
//! tests that need it fail, never skip, without it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RoundRobin {
    child: Child,
    dir: PathBuf,
    /// The proxy's MCP endpoint URL.
    pub url: String,
}

impl RoundRobin {
    /// Proxies `/mcp` on a free port to `upstreams` (`http://127.0.0.1:PORT/mcp` URLs) in turn.
    pub fn start(upstreams: &[&str]) -> Self {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("nginx is missing: install it with `apt-get install nginx` (.ci/run does)");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = std::env::temp_dir().join(format!("nginx-{port}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("logs")).expect("nginx prefix");
        let servers: String = upstreams
            .iter()
            .map(|u| {
                let authority = u
                    .trim_start_matches("http://")
                    .split('/')
                    .next()
                    .expect("an authority");
                format!("    server {authority};\n")
            })
            .collect();
        let conf = format!(
            r#"worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream instances {{
{servers}    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://instances;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }}
  }}
}}
"#,
            dir = dir.display()
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new(nginx)
            .args([
                "-p",
                &dir.display().to_string(),
                "-c",
                &conf_path.display().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
