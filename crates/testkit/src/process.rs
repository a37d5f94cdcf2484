//! A server binary of this package run as a child process on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::paths::cargo_bin;

/// A server binary running on 127.0.0.1 with a free port; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// The MCP endpoint URL, e.g. `http://127.0.0.1:39123/mcp`.
    pub url: String,
}

impl ServerProcess {
    /// Starts `binary` (a path from [`cargo_bin`] or `env!("CARGO_BIN_EXE_...")`) with `--bind 127.0.0.1:0` and
    /// `args`, and waits for its `listening on URL` line.
    pub fn start(binary: &str, args: &[&str]) -> Self {
        Self::start_with_env(binary, args, &[])
    }

    /// Like [`ServerProcess::start`], with extra environment variables.
    pub fn start_with_env(binary: &str, args: &[&str], env: &[(&str, String)]) -> Self {
        Self::try_start_at(binary, "127.0.0.1:0", args, env).unwrap_or_else(|why| panic!("{why}"))
    }

    /// Starts `binary` with `--bind bind` (for example a port an earlier process of the same
    /// instance had, to restart it where its clients expect it), `args` and `env`; says why
    /// when it did not print its `listening on URL` line.
    pub fn try_start_at(
        binary: &str,
        bind: &str,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Result<Self, String> {
        let mut child = Command::new(binary)
            .args(["--bind", bind])
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not start {binary}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        match line.trim().strip_prefix("listening on ") {
            Some(url) if read.is_ok() => Ok(Self {
                url: url.to_owned(),
                child,
            }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("unexpected first line from {binary}: {line:?}"))
            }
        }
    }

    /// The conformance fixture server.
    pub fn conformance(args: &[&str]) -> Self {
        Self::start(&cargo_bin("conformance-server").to_string_lossy(), args)
    }
}

impl ServerProcess {
    /// The process id (for `/proc/PID/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL), as a crashing or frozen instance would vanish.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
