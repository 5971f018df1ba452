//! Other programs kslint runs on the linted tree (`helm template`, and
//! `kustomize build` or `kubectl kustomize` for what kslint's own engine
//! does not build), walled off from the machine. The tree is untrusted, and
//! these programs read it with more power than kslint's own code: Helm's
//! templates call functions, kustomize follows its configuration.
//!
//! Every run gets a cleared environment (no tokens, no kubeconfig, no
//! proxies, an empty `PATH`, a scratch home), its own network and process
//! namespaces (`unshare`: no network at all, and every process it starts
//! dies with it), a memory limit (`prlimit` on address space, and a watch
//! on resident memory), a time limit and a cap on what it prints. When the
//! namespaces cannot be made, the program does not run unless the user
//! allowed it (`--allow-unsandboxed-tools`).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What one run of a program may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock time.
    pub time: Duration,
    /// Bytes printed on standard output.
    pub output: u64,
    /// Resident memory of the program and its children, in bytes.
    pub memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(120),
            output: 256 << 20,
            memory: 1 << 30,
        }
    }
}

/// Go programs reserve address space far beyond what they use; this bounds
/// it without starving them, while [`Limits::memory`] bounds real use.
const ADDRESS_SPACE: u64 = 8 << 30;

/// Error output kept for the message; the rest is dropped.
const STDERR_LIMIT: u64 = 64 << 10;

/// The longest error of another program kslint shows.
const MAX_ERROR_CHARS: usize = 600;

/// Another program's error as kslint shows it: its words on one line,
/// control characters made visible, at most 600 characters. What a tool
/// prints is never a channel for whole files.
pub fn shown_error(text: &str) -> String {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::text::bounded(&crate::text::clean_line(&words), MAX_ERROR_CHARS).into_owned()
}

/// How kslint can wall a program off on this machine.
#[derive(Debug, Clone)]
enum Walls {
    /// `unshare` makes user, network and process namespaces.
    Namespaces {
        unshare: PathBuf,
        /// Whether a process namespace could be made too (a killed run
        /// then takes every process it started with it).
        pid: bool,
    },
    /// No namespaces: why not.
    Unavailable(String),
}

/// Set to `1`, kslint acts as if no namespaces can be made: for tests, and
/// for machines where they misbehave. It can only take power away.
pub const NO_NAMESPACES_VARIABLE: &str = "KSLINT_NO_NAMESPACES";

fn walls() -> &'static Walls {
    static WALLS: OnceLock<Walls> = OnceLock::new();
    WALLS.get_or_init(|| {
        if std::env::var_os(NO_NAMESPACES_VARIABLE).is_some_and(|v| v == "1") {
            return Walls::Unavailable(format!("{NO_NAMESPACES_VARIABLE}=1 forbids them"));
        }
        let Some(unshare) = ["/usr/bin/unshare", "/bin/unshare"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
        else {
            return Walls::Unavailable("`unshare` (util-linux) is not installed".to_owned());
        };
        let works = |flags: &[&str]| {
            Command::new(&unshare)
                .args(flags)
                .args(["--", "/bin/sh", "-c", "exit 0"])
                .env_clear()
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if works(&PID_FLAGS) {
            Walls::Namespaces { unshare, pid: true }
        } else if works(&NET_FLAGS) {
            Walls::Namespaces {
                unshare,
                pid: false,
            }
        } else {
            Walls::Unavailable(
                "this machine does not let unprivileged users make namespaces (`unshare --user --net` failed; on Ubuntu, kernel.apparmor_restrict_unprivileged_userns forbids it)".to_owned(),
            )
        }
    })
}

const NET_FLAGS: [&str; 2] = ["--map-root-user", "--net"];
const PID_FLAGS: [&str; 5] = [
    "--map-root-user",
    "--net",
    "--pid",
    "--fork",
    "--kill-child",
];

/// Why a program did not give its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The walls could not be built, and running without them was not
    /// allowed.
    NoSandbox(String),
    /// The program could not be started.
    Start(String),
    /// It ran out of time.
    Timeout(Duration),
    /// It printed more than allowed.
    TooMuchOutput(u64),
    /// It used more memory than allowed.
    TooMuchMemory(u64),
    /// It exited with an error: what it printed on standard error, bounded.
    Exit(String),
}

impl Failure {
    /// Why, in words, for `program` (`helm template`, `kubectl kustomize`).
    pub fn why(&self, program: &str) -> String {
        match self {
            Failure::NoSandbox(why) => format!(
                "kslint runs {program} only walled off from the machine, and {why}; pass --allow-unsandboxed-tools to run it anyway on a tree you trust"
            ),
            Failure::Start(why) => format!("{program} could not be started: {why}"),
            Failure::Timeout(limit) => format!(
                "{program} did not finish within {} seconds",
                limit.as_secs()
            ),
            Failure::TooMuchOutput(limit) => {
                format!("{program} printed more than {} MB", limit >> 20)
            }
            Failure::TooMuchMemory(limit) => {
                format!("{program} used more than {} MB of memory", limit >> 20)
            }
            Failure::Exit(stderr) => stderr.clone(),
        }
    }
}

/// How a run treats other programs: the user's choices.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// What each run of a program may use.
    pub limits: Limits,
    /// Whether to run a program when no walls can be built (the user's
    /// explicit choice, for trees they trust).
    pub allow_unsandboxed: bool,
}

impl Policy {
    /// The policy with output capped at `bytes` as well.
    pub fn with_output_cap(mut self, bytes: u64) -> Policy {
        self.limits.output = self.limits.output.min(bytes);
        self
    }
}

/// One program to run.
#[derive(Debug)]
pub struct Job<'a> {
    /// The program (an absolute path).
    pub program: &'a Path,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The folder it runs in.
    pub cwd: &'a Path,
    /// Limits, and whether it may run without walls.
    pub policy: Policy,
}

/// Whether programs can be walled off on this machine; why not if not.
pub fn unavailable() -> Option<&'static str> {
    match walls() {
        Walls::Namespaces { .. } => None,
        Walls::Unavailable(why) => Some(why),
    }
}

/// Runs a job; its standard output, or why there is none.
pub fn run(job: &Job<'_>) -> Result<Vec<u8>, Failure> {
    let scratch = tempfile::Builder::new()
        .prefix("kslint-tool-")
        .tempdir()
        .map_err(|e| Failure::Start(format!("cannot make a temporary folder: {e}")))?;
    let scratch_dir = scratch.path();
    let empty = scratch_dir.join("empty");
    let home = scratch_dir.join("home");
    for dir in [&empty, &home] {
        std::fs::create_dir(dir)
            .map_err(|e| Failure::Start(format!("cannot make a temporary folder: {e}")))?;
    }
    let sandbox = match walls() {
        Walls::Namespaces { unshare, pid } => Some((unshare, *pid)),
        Walls::Unavailable(why) if !job.policy.allow_unsandboxed => {
            return Err(Failure::NoSandbox(why.clone()));
        }
        Walls::Unavailable(_) => None,
    };
    let prlimit = ["/usr/bin/prlimit", "/bin/prlimit"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file());
    let mut argv: Vec<OsString> = Vec::new();
    if let Some((unshare, pid)) = sandbox {
        argv.push(unshare.into());
        let flags: &[&str] = if pid { &PID_FLAGS } else { &NET_FLAGS };
        argv.extend(flags.iter().map(OsString::from));
        argv.push("--".into());
    }
    if let Some(prlimit) = prlimit {
        argv.push(prlimit.into());
        argv.push(format!("--as={ADDRESS_SPACE}").into());
        argv.push("--".into());
    }
    argv.push(job.program.into());
    argv.extend(job.args.iter().cloned());
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    let result = finish(command, job, &empty, &home);
    drop(scratch);
    result
}

/// Sets the environment, runs the command and collects what it printed.
fn finish(
    mut command: Command,
    job: &Job<'_>,
    empty: &Path,
    home: &Path,
) -> Result<Vec<u8>, Failure> {
    let nowhere = "http://127.0.0.1:9";
    command
        .current_dir(job.cwd)
        .env_clear()
        .env("PATH", empty)
        .env("HOME", home)
        .env("TMPDIR", home)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_CACHE_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("LC_ALL", "C")
        .env("KUBECONFIG", "/dev/null")
        .env("KUSTOMIZE_PLUGIN_HOME", empty)
        .env("HELM_PLUGINS", empty)
        .env("HELM_CACHE_HOME", home)
        .env("HELM_CONFIG_HOME", home)
        .env("HELM_DATA_HOME", home)
        .env("HELM_REGISTRY_CONFIG", home.join("registry.json"))
        .env("HELM_REPOSITORY_CONFIG", home.join("repositories.yaml"))
        .env("HELM_REPOSITORY_CACHE", home)
        .env("GIT_ALLOW_PROTOCOL", "none")
        .env("NO_PROXY", "")
        .env("no_proxy", "");
    // Without a network namespace (only when the user allowed it), a
    // proxy that goes nowhere still stops most fetches.
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env(proxy, nowhere);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::Start(crate::source::io_message(&e)))?;
    type Flag = std::sync::Arc<std::sync::atomic::AtomicBool>;
    let overflow = Flag::default();
    let drain = |pipe: Option<Box<dyn Read + Send>>, limit: u64, overflow: Flag| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(pipe) = pipe {
                // One byte past the limit tells a full pipe from a capped
                // one; then the pipe closes and the program is stopped.
                let _ = pipe.take(limit + 1).read_to_end(&mut bytes);
                if bytes.len() as u64 > limit {
                    overflow.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        job.policy.limits.output,
        overflow.clone(),
    );
    // Only the program's error matters; its end is dropped.
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        STDERR_LIMIT,
        Flag::default(),
    );
    let started = Instant::now();
    let root = child.id();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {
                let failure = if started.elapsed() >= job.policy.limits.time {
                    Some(Failure::Timeout(job.policy.limits.time))
                } else if resident_memory(root) > job.policy.limits.memory {
                    Some(Failure::TooMuchMemory(job.policy.limits.memory))
                } else if stdout.is_finished()
                    && overflow.load(std::sync::atomic::Ordering::Relaxed)
                {
                    Some(Failure::TooMuchOutput(job.policy.limits.output))
                } else {
                    None
                };
                if let Some(failure) = failure {
                    // Killing `unshare --kill-child` kills the program, and
                    // the end of its process namespace every process left.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(failure);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(Failure::Start(crate::source::io_message(&e))),
        }
    };
    // A child of the program may hold the pipes open: wait for them only
    // within the time left.
    let collect = |reader: std::thread::JoinHandle<Vec<u8>>| {
        while !reader.is_finished() && started.elapsed() < job.policy.limits.time {
            std::thread::sleep(Duration::from_millis(5));
        }
        if reader.is_finished() {
            reader.join().unwrap_or_default()
        } else {
            Vec::new()
        }
    };
    let stdout = collect(stdout);
    let stderr = collect(stderr);
    if stdout.len() as u64 > job.policy.limits.output {
        return Err(Failure::TooMuchOutput(job.policy.limits.output));
    }
    if !status.success() {
        return Err(Failure::Exit(String::from_utf8_lossy(&stderr).into_owned()));
    }
    Ok(stdout)
}

/// The resident memory of a process and its descendants, in bytes (0
/// where `/proc` cannot tell).
fn resident_memory(pid: u32) -> u64 {
    let mut total = 0;
    let mut pending = vec![pid];
    let mut seen = 0;
    while let Some(pid) = pending.pop() {
        seen += 1;
        if seen > 4096 {
            break;
        }
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            total += status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
                * 1024;
        }
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            pending.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    total
}
