//! `gate`: the command-line client for API callers, operators and the end-to-end tests.
//!
//! ```text
//! gate submit http://127.0.0.1:8787/api/register --data '{"email":"a@b.c"}' --content-type application/json
//! gate challenge http://127.0.0.1:8787 --route /signup
//! gate solve --token <token>            # prints <token>.<nonces>
//! ```

use clap::{Parser, Subcommand};
use gate::client::{self, Carrier, Submission};
use std::io::Read as _;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "gate", version, about = "Client for the edge sign-up gate")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch a challenge and print its JSON.
    Challenge {
        /// Gate base URL, e.g. http://127.0.0.1:8787
        base: String,
        /// Protected route the challenge is for.
        #[arg(long, default_value = "/signup")]
        route: String,
        /// Gate endpoint prefix.
        #[arg(long, default_value = "/__gate")]
        prefix: String,
        /// User-Agent to send (the challenge is bound to its family and major version).
        #[arg(long, default_value = concat!("gate-cli/", env!("CARGO_PKG_VERSION")))]
        user_agent: String,
    },
    /// Solve a challenge token and print the solution string.
    Solve {
        /// The challenge token (base64url); reads challenge JSON from stdin when omitted.
        #[arg(long)]
        token: Option<String>,
        /// Client-signal bytes to bind into the seed.
        #[arg(long, default_value = "")]
        signals: String,
        /// Solver threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Fetch a challenge, solve it, and send the request; prints the response body.
    Submit {
        /// Full URL of the protected route.
        url: String,
        /// HTTP method.
        #[arg(long, short = 'X', default_value = "POST")]
        method: String,
        /// Request body.
        #[arg(long, short = 'd', default_value = "")]
        data: String,
        /// Content-Type of the body.
        #[arg(long)]
        content_type: Option<String>,
        /// Send the solution as the `gate-solution` form field instead of the header.
        #[arg(long)]
        form: bool,
        /// Extra header, `Name: value` (repeatable).
        #[arg(long = "header", short = 'H')]
        headers: Vec<String>,
        /// User-Agent for the challenge and the request.
        #[arg(long, default_value = concat!("gate-cli/", env!("CARGO_PKG_VERSION")))]
        user_agent: String,
        /// Gate endpoint prefix.
        #[arg(long, default_value = "/__gate")]
        prefix: String,
        /// Solver threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Print `{"status":..,"headers":..,"body":..}` instead of the body.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gate: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let agent = client::agent();
    match cli.command {
        Command::Challenge { base, route, prefix, user_agent } => {
            let c = client::fetch_challenge(&agent, &base, &prefix, &route, &user_agent)?;
            println!("{}", serde_json::to_string_pretty(&c)?);
        }
        Command::Solve { token, signals, threads } => {
            let token = match token {
                Some(t) => t,
                None => {
                    let mut input = String::new();
                    std::io::stdin().read_to_string(&mut input)?;
                    let c: gate::challenge::ChallengeJson = serde_json::from_str(&input)?;
                    c.token
                }
            };
            let threads = threads.unwrap_or_else(client::default_threads);
            let solution = client::solve(&token, signals.as_bytes(), threads)?;
            println!("{}", solution.encode());
        }
        Command::Submit {
            url,
            method,
            data,
            content_type,
            form,
            headers,
            user_agent,
            prefix,
            threads,
            json,
        } => {
            let headers = headers
                .iter()
                .map(|h| match h.split_once(':') {
                    Some((k, v)) => Ok((k.trim().to_string(), v.trim().to_string())),
                    None => Err(format!("header {h:?} is not `Name: value`")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let sub = Submission {
                url,
                method: method.to_ascii_uppercase(),
                body: data.into_bytes(),
                content_type,
                user_agent,
                headers,
                carrier: if form { Carrier::Form } else { Carrier::Header },
            };
            let threads = threads.unwrap_or_else(client::default_threads);
            let answer = client::submit(&agent, &prefix, &sub, threads)?;
            if json {
                let headers: serde_json::Map<String, serde_json::Value> =
                    answer.headers.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
                println!(
                    "{}",
                    serde_json::json!({"status": answer.status, "headers": headers, "body": answer.body})
                );
            } else {
                eprintln!("HTTP {}", answer.status);
                println!("{}", answer.body);
            }
            if answer.status >= 400 {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
