//! The `npm-auth-scan` binary: parse the command line, run, exit with the contract's code.

use std::process::ExitCode;

use clap::Parser;
use npm_auth_scan::app;
use npm_auth_scan::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                app::EXIT_ERROR
            } else {
                app::EXIT_OK
            });
        }
    };
    let code = match cli.command {
        Some(command) => app::run_command(command),
        None => match cli.scan.resolve() {
            Ok(settings) => app::run_scan(settings),
            Err(e) => {
                eprint!("{}", e.render());
                app::EXIT_ERROR
            }
        },
    };
    ExitCode::from(code)
}
