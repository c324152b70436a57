//! A Python client script's checks as Rust tests: the script runs once per test binary against
//! its own `pier serve` (started for it and stopped when it ends), and each `#[test]` made by
//! [`client_checks!`](crate::client_checks) asserts one check by name, so a failure names the
//! behaviour that broke. One more test asserts that the script ran exactly the checks listed.

use super::Server;
use std::collections::BTreeMap;

/// What one run of a script reported.
pub struct ScriptRun {
    script: &'static str,
    /// Each check's outcome by name: `None` if it passed, its cause if it failed.
    outcomes: BTreeMap<String, Option<String>>,
    /// Everything it printed, and the server log's tail when something failed.
    output: String,
}

impl ScriptRun {
    /// Starts a server, runs `script` (in `tests/clients`) against it, stops the server.
    pub fn start(script: &'static str) -> ScriptRun {
        ScriptRun::start_with(script, &[])
    }

    /// [`ScriptRun::start`] with the server started with `flags`.
    pub fn start_with(script: &'static str, flags: &[&str]) -> ScriptRun {
        let server = Server::start_with(tempfile::TempDir::new().unwrap(), flags);
        let out = server.python(script, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut outcomes = BTreeMap::new();
        for line in stdout.lines() {
            if let Some(name) = line.strip_prefix("ok   ") {
                outcomes.insert(name.to_owned(), None);
            } else if let Some(failed) = line.strip_prefix("FAIL ") {
                // `FAIL name: cause`; a name may hold ": " itself, so the cause is matched later.
                outcomes.insert(failed.to_owned(), Some(failed.to_owned()));
            }
        }
        let mut output = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            output.push_str(&format!("\nserver log (tail):\n{}", server.log_tail(40)));
        }
        ScriptRun {
            script,
            outcomes,
            output,
        }
    }

    /// Panics unless the check `name` ran and passed.
    pub fn assert_passed(&self, name: &str) {
        if self.outcomes.get(name) == Some(&None) {
            return;
        }
        let failed = self
            .outcomes
            .iter()
            .find(|(line, outcome)| outcome.is_some() && line.starts_with(&format!("{name}: ")));
        match failed {
            Some((line, _)) => panic!("{}: FAIL {line}\n\n{}", self.script, self.output),
            None => panic!(
                "{}: the check {name:?} did not run\n\n{}",
                self.script, self.output
            ),
        }
    }

    /// Panics unless the script ran exactly the checks `names` (none unasserted, none missing).
    pub fn assert_checks(&self, names: &[&str]) {
        let ran: Vec<&str> = self
            .outcomes
            .iter()
            .map(|(line, outcome)| match outcome {
                None => line.as_str(),
                Some(_) => names
                    .iter()
                    .copied()
                    .find(|n| line.starts_with(&format!("{n}: ")))
                    .unwrap_or(line.as_str()),
            })
            .collect();
        let extra: Vec<&&str> = ran.iter().filter(|n| !names.contains(n)).collect();
        let missing: Vec<&&str> = names.iter().filter(|n| !ran.contains(n)).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{}: checks without a test here: {extra:?}; tests whose check did not run: {missing:?}\n\n{}",
            self.script,
            self.output
        );
    }
}

/// Makes, in the module it is called in, a `#[test]` per check of a client script and one that
/// the script ran exactly those checks:
/// `client_checks!("script.py"; test_name => "check name", ...);`
#[macro_export]
macro_rules! client_checks {
    ($script:literal; $($test:ident => $name:literal),* $(,)?) => {
        $crate::client_checks!($script, []; $($test => $name),*);
    };
    ($script:literal, [$($flag:literal),*]; $($test:ident => $name:literal),* $(,)?) => {
        fn script_run() -> &'static $crate::common::script_checks::ScriptRun {
            static RUN: std::sync::OnceLock<$crate::common::script_checks::ScriptRun> =
                std::sync::OnceLock::new();
            RUN.get_or_init(|| {
                $crate::common::script_checks::ScriptRun::start_with($script, &[$($flag),*])
            })
        }

        $(
            #[test]
            fn $test() {
                script_run().assert_passed($name);
            }
        )*

        #[test]
        fn the_script_runs_exactly_these_checks() {
            script_run().assert_checks(&[$($name),*]);
        }
    };
}
