//! The `zkinfer` command line: compile, run, prove, verify, bench.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
