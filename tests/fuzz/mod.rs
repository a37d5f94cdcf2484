//! The harness of the property-based fuzz targets (`tests/fuzz_*`): the checked-in corpus
//! first, then seeded random cases, each failure reported with what replays it.
//!
//! - `FUZZ_CASES`: random cases per target after the corpus (each target has a small default,
//!   so the suite stays fast; `scripts/fuzz.sh` runs many).
//! - `FUZZ_SEED`: the run's seed, printed at the start. The default is a fixed seed, so the
//!   test suite explores the same cases on every run and passes or fails with the code, never
//!   with the draw; `scripts/fuzz.sh` explores new seeds (from the clock). Case `i` of a run
//!   draws from its own generator, so `FUZZ_SEED=s FUZZ_CASE=i` replays it alone.
//!
//! A failing input is written to `target/fuzz-failures/`, ready to be checked in under
//! `tests/data/fuzz/<target>/` once the bug is fixed.

use std::path::PathBuf;

use bedrock_usage_mcp::usage::source::synthetic::Rng;

pub mod mutate;

/// The seed of the test suite's short run (a suite that passes every time draws the same
/// cases every time; new seeds are for the long run).
const SUITE_SEED: u64 = 20_261_202;

/// Failures listed in full before a run stops looking.
const MAX_REPORTED: usize = 5;

/// One target's run: its corpus and how many random cases to draw from which seed.
pub struct FuzzRun {
    pub target: &'static str,
    pub seed: u64,
    pub cases: u64,
    /// Only this random case (and no corpus), when replaying one.
    pub only_case: Option<u64>,
    failures: Vec<String>,
    failed: usize,
}

impl FuzzRun {
    /// Settings from the environment, with `default_cases` random cases.
    pub fn from_env(target: &'static str, default_cases: u64) -> Self {
        let seed = env_u64("FUZZ_SEED").unwrap_or(SUITE_SEED);
        let run = Self {
            target,
            seed,
            cases: env_u64("FUZZ_CASES").unwrap_or(default_cases),
            only_case: env_u64("FUZZ_CASE"),
            failures: Vec::new(),
            failed: 0,
        };
        eprintln!(
            "fuzz {target}: FUZZ_SEED={} FUZZ_CASES={}",
            run.seed, run.cases
        );
        run
    }

    /// The checked-in inputs, `tests/data/fuzz/<target>/*`, sorted by file name; empty while
    /// replaying a single random case.
    pub fn corpus(&self) -> Vec<(String, Vec<u8>)> {
        if self.only_case.is_some() {
            return Vec::new();
        }
        let dir = corpus_dir(self.target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the corpus {} cannot be read: {e}", dir.display()))
            .map(|entry| entry.expect("a corpus entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "the corpus {} is empty", dir.display());
        files
            .into_iter()
            .map(|path| {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
                (name, bytes)
            })
            .collect()
    }

    /// The indices of the random cases to run.
    pub fn case_indices(&self) -> Vec<u64> {
        match self.only_case {
            Some(i) => vec![i],
            None => (0..self.cases).collect(),
        }
    }

    /// The generator of random case `index`: independent of every other case.
    pub fn rng(&self, index: u64) -> Rng {
        let mut mix = Rng::new(self.seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
        Rng::new(mix.next_u64())
    }

    /// Records the problems of one case (none: it passed). `input` is the case in corpus
    /// form; `what` names it (a corpus file or a random case).
    pub fn check(&mut self, what: &str, input: &[u8], problems: Vec<String>) {
        if problems.is_empty() {
            return;
        }
        self.failed += 1;
        if self.failures.len() >= MAX_REPORTED {
            return;
        }
        let saved = save_failure(self.target, what, input);
        self.failures.push(format!(
            "{what}: {}\n  input ({} bytes) saved to {saved}\n  input starts: {}",
            problems.join("\n  "),
            input.len(),
            excerpt(input)
        ));
    }

    /// Whether enough failures were seen to stop early.
    pub fn enough(&self) -> bool {
        self.failures.len() >= MAX_REPORTED
    }

    /// The name of random case `index`, with how to replay it.
    pub fn case_name(&self, index: u64) -> String {
        format!("random case FUZZ_SEED={} FUZZ_CASE={index}", self.seed)
    }

    /// Fails the test if any case failed, listing the first few with how to replay them.
    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "fuzz {}: {} failing case(s) (FUZZ_SEED={}):\n{}",
            self.target,
            self.failed,
            self.seed,
            self.failures.join("\n")
        );
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a whole number")),
    )
}

pub fn corpus_dir(target: &str) -> PathBuf {
    repo_root().join("tests/data/fuzz").join(target)
}

/// Writes a failing input where `finish`'s message says; returns that path.
fn save_failure(target: &str, what: &str, input: &[u8]) -> String {
    let dir = repo_root().join("target/fuzz-failures").join(target);
    let name: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = dir.join(name);
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not saved: {e})"),
    }
}

fn excerpt(input: &[u8]) -> String {
    let text = String::from_utf8_lossy(&input[..input.len().min(600)]);
    format!("{text:?}")
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
