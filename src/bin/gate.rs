//! `gate`: the command-line client for API callers, operators and the end-to-end tests.
//!
//! ```text
//! gate submit http://127.0.0.1:8787/api/register --data '{"email":"a@b.c"}' --content-type application/json
//! gate challenge http://127.0.0.1:8787 --route /signup
//! gate solve --token <token>            # prints <token>.<nonces>
//! gate policy check policy/gate.toml    # every problem, with its place
//! gate policy json policy/gate.toml     # the policy as the Worker's POLICY var reads it
//! gate replay policy/new.toml decisions.jsonl   # what a policy change would have done
//! gate drill drills/january-2025.toml --compare  # an attack drill (docs/drill.md)
//! ```

use clap::{Parser, Subcommand};
use gate::cli::client::{self, Carrier, Submission};
use std::io::Read as _;
use std::process::ExitCode;

/// The drill allocates per simulated request: mimalloc plays it faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        /// The sign-up's phone number, when the policy prices by calling code.
        #[arg(long)]
        phone: Option<String>,
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
        /// Read many tokens (or challenge JSON objects), one per line, from stdin and print one
        /// solution per line, in order (load tests).
        #[arg(long, conflicts_with = "token")]
        batch: bool,
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
        /// The sign-up's phone number, when the policy prices by calling code.
        #[arg(long)]
        phone: Option<String>,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Re-decide recorded decision-log lines (JSON lines, e.g. from `wrangler tail --format
    /// json` or Workers Logs) under a policy, and print what would change.
    Replay {
        /// The policy to try.
        policy: std::path::PathBuf,
        /// Decision log lines, one JSON object per line (`-` for stdin).
        decisions: std::path::PathBuf,
        /// Print every replayed line, not only the changed ones.
        #[arg(long)]
        all: bool,
    },
    /// Play an attack scenario in virtual time through the gate's core and report what
    /// happened to people and to bots (docs/drill.md).
    Drill(DrillArgs),
}

/// How people's widget pays in a drill.
#[derive(Copy, Clone, Debug, clap::ValueEnum)]
enum WidgetArg {
    Banking,
    SolveOnFocus,
}

#[derive(clap::Args)]
struct DrillArgs {
    /// The scenario file (drills/*.toml).
    scenario: std::path::PathBuf,
    /// The policy to play (default: the shipped policy/gate.toml).
    #[arg(long)]
    policy: Option<std::path::PathBuf>,
    /// Write a self-contained HTML report with a timeline chart.
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// Write the report as JSON.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Seed (default: the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Play the scenario under every defence side by side (no gate, the incident's two blunt
    /// responses, proof of work alone, the policy, with capacity pricing, with banked effort,
    /// with a waiting line), each with several seeds, and print the median and range of each
    /// figure.
    #[arg(long)]
    compare: bool,
    /// Play the scenario under this policy (A) and under --policy (B; default: the shipped
    /// one) as paired runs over --seeds seeds, and print each figure seed by seed as B − A
    /// (docs/drill.md#paired-runs): whether a policy edit helped, told apart from a seed's luck.
    #[arg(long, conflicts_with_all = ["compare", "export_requests"])]
    against: Option<std::path::PathBuf>,
    /// Seeds per defence with --compare or --against (from the scenario's seed or --seed
    /// upwards; at least 5).
    #[arg(long, default_value_t = gate::drill::compare::DEFAULT_SEEDS, value_parser = clap::value_parser!(u32).range(5..=100))]
    seeds: u32,
    /// Runs played at once with --compare or --against (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// With --compare, play only the defences whose name contains this (e.g. "policy").
    #[arg(long)]
    only: Option<String>,
    /// Write every request the drill made (and the lowered policy) as JSON, for replaying
    /// against the built Worker (tests/e2e/drill-fidelity.test.mjs).
    #[arg(long)]
    export_requests: Option<std::path::PathBuf>,
    /// How people's widget pays (without --compare): `banking` (the shipped widget: banks
    /// while people type, tops up a price that moved) or `solve-on-focus` (before banking).
    #[arg(long, value_enum, default_value_t = WidgetArg::Banking)]
    widget: WidgetArg,
    /// No progress bar on stderr.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file: prints every problem with its location; exit status 1 if any.
    Check {
        /// The policy file.
        file: std::path::PathBuf,
    },
    /// Print a valid policy file as one line of JSON, the form the Worker reads at run time:
    /// `wrangler dev --var POLICY:"$(gate policy json new.toml)"`.
    Json {
        /// The policy file (TOML).
        file: std::path::PathBuf,
    },
}

/// Every problem of a policy file, one per line, on stderr.
fn report_policy_problems(file: &std::path::Path, errors: &gate::policy::PolicyErrors) {
    let n = errors.0.len();
    eprintln!("{}: {n} problem{}", file.display(), if n == 1 { "" } else { "s" });
    for e in &errors.0 {
        eprintln!("  {e}");
    }
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
        Command::Challenge { base, route, prefix, user_agent, phone } => {
            let c = client::fetch_challenge(&agent, &base, &prefix, &route, &user_agent, phone.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&c)?);
        }
        Command::Solve { token: _, signals, threads, batch: true } => {
            let threads = threads.unwrap_or_else(client::default_threads);
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            let mut out = String::new();
            for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let token = if line.starts_with('{') {
                    serde_json::from_str::<gate::protocol::challenge::ChallengeJson>(line)?.token
                } else {
                    line.to_string()
                };
                out.push_str(&client::solve(&token, signals.as_bytes(), threads)?.encode());
                out.push('\n');
            }
            print!("{out}");
        }
        Command::Solve { token, signals, threads, batch: false } => {
            let token = match token {
                Some(t) => t,
                None => {
                    let mut input = String::new();
                    std::io::stdin().read_to_string(&mut input)?;
                    let c: gate::protocol::challenge::ChallengeJson = serde_json::from_str(&input)?;
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
            phone,
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
                phone,
            };
            let threads = threads.unwrap_or_else(client::default_threads);
            // the place goes to stderr, so stdout stays the answer (`--json` too)
            let mut on_line = |place: client::InLine| {
                eprintln!(
                    "in line: about {} s to wait, asking again in {} s",
                    place.wait_secs, place.retry_after
                )
            };
            let answer = client::submit(&agent, &prefix, &sub, threads, &mut on_line)?;
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
        Command::Policy { command: PolicyCommand::Json { file } } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            match gate::policy::to_json(&text) {
                Ok(json) => println!("{json}"),
                Err(errors) => {
                    report_policy_problems(&file, &errors);
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Command::Policy { command: PolicyCommand::Check { file } } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            match gate::policy::load(&text) {
                Ok(p) => {
                    println!(
                        "{}: ok (version {}, {} protected and {} pass-through routes, {} rules, base price {}x{}, sha256 {})",
                        file.display(),
                        gate::policy::VERSION,
                        p.protected.len(),
                        p.pass.len(),
                        p.rules.len(),
                        p.difficulty,
                        p.k,
                        gate::policy::fingerprint(&text)
                    );
                }
                Err(errors) => {
                    report_policy_problems(&file, &errors);
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Command::Replay { policy, decisions, all } => return replay(&policy, &decisions, all),
        Command::Drill(args) => return drill(&args),
    }
    Ok(ExitCode::SUCCESS)
}

fn replay(
    policy: &std::path::Path,
    decisions: &std::path::Path,
    all: bool,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use std::collections::BTreeMap;
    let text = std::fs::read_to_string(policy).map_err(|e| format!("{}: {e}", policy.display()))?;
    let policy = gate::policy::load(&text).map_err(|e| e.to_string())?;
    let mut input = String::new();
    if decisions.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut input)?;
    } else {
        input = std::fs::read_to_string(decisions).map_err(|e| format!("{}: {e}", decisions.display()))?;
    }
    let (mut read, mut replayed, mut changed) = (0usize, 0usize, 0usize);
    let mut transitions: BTreeMap<(String, String), usize> = BTreeMap::new();
    for value in gate::decision_log::replay::decision_lines(&input) {
        read += 1;
        let Some(r) = gate::decision_log::replay::replay(&policy, &value) else { continue };
        replayed += 1;
        let after = r.after.outcome.to_string();
        if r.changed() {
            changed += 1;
            *transitions.entry((r.before.to_string(), after.clone())).or_default() += 1;
        }
        if r.changed() || all {
            println!("{}: {} -> {after} ({})", r.request, r.before, r.after.why);
        }
    }
    println!("\n{read} log lines, {replayed} policy decisions replayed, {changed} would change");
    for ((before, after), n) in transitions {
        println!("  {n:>6}  {before} -> {after}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A policy lowered for a drill of `scenario`, or every problem with it on stderr (`None`).
fn lower_for_drill(
    scenario: &gate::drill::scenario::Scenario,
    label: &str,
    text: &str,
) -> Option<gate::drill::gate::Lowered> {
    match gate::drill::prepare(scenario, text) {
        Ok(l) => Some(l),
        Err(problems) => {
            eprintln!("{label}: {} problem(s) with this policy", problems.len());
            for e in &problems {
                eprintln!("  {e}");
            }
            None
        }
    }
}

fn drill(args: &DrillArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use gate::drill::{self, compare, engine, scenario};
    use std::io::Write as _;
    let path = &args.scenario;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let scenario = match scenario::load(&text) {
        Ok(s) => s,
        Err(errors) => {
            let n = errors.0.len();
            eprintln!("{}: {n} problem{}", path.display(), if n == 1 { "" } else { "s" });
            for e in &errors.0 {
                eprintln!("  {e}");
            }
            return Ok(ExitCode::from(1));
        }
    };
    let policy_text = match &args.policy {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => drill::SHIPPED_POLICY.to_string(),
    };
    let policy_label = args.policy.as_ref().map_or("the shipped policy".into(), |p| p.display().to_string());
    let Some(lowered) = lower_for_drill(&scenario, &policy_label, &policy_text) else {
        return Ok(ExitCode::from(1));
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    let seeds: Vec<u64> = (0..u64::from(args.seeds)).map(|i| seed.wrapping_add(i)).collect();
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let quiet = args.quiet;
    let bar = |label: &str, f: f64| {
        if quiet {
            return;
        }
        let filled = (f * 30.0).round() as usize;
        eprint!(
            "\r  [{}{}] {:>3.0}%  {label:<40}",
            "#".repeat(filled),
            " ".repeat(30 - filled.min(30)),
            f * 100.0
        );
        let _ = std::io::stderr().flush();
    };
    #[allow(clippy::disallowed_methods)] // the CLI measures its own wall-clock speed
    let started = std::time::Instant::now();
    // several defences over the seeds (--against, --compare), with the progress bar
    let play_all = |list: &[engine::Defence]| {
        let cb = |done: usize, all: usize| {
            bar(&format!("{done}/{all} runs ({jobs} at once)"), done as f64 / all as f64)
        };
        let comparison = compare::run(&scenario, list, &seeds, jobs, Some(&cb));
        if !quiet {
            eprintln!();
        }
        comparison
    };
    if let Some(against) = &args.against {
        let text = std::fs::read_to_string(against).map_err(|e| format!("{}: {e}", against.display()))?;
        let a_name = against.display().to_string();
        let Some(a) = lower_for_drill(&scenario, &a_name, &text) else {
            return Ok(ExitCode::from(1));
        };
        let b_name = policy_label;
        let gate = |l, name: &str| engine::Defence::Gate(Box::new(l), name.into(), engine::Widget::Banking);
        let list = [gate(a, &a_name), gate(lowered, &b_name)];
        let comparison = play_all(&list);
        print!("{}", compare::paired::table(&comparison, &a_name, &b_name));
        println!("\n{} runs in {:.1} s wall", list.len() * seeds.len(), started.elapsed().as_secs_f64());
        if let Some(j) = &args.json {
            std::fs::write(j, serde_json::to_string_pretty(&comparison.runs)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.compare {
        let list: Vec<engine::Defence> = compare::defences(&scenario, &lowered)
            .into_iter()
            .filter(|d| args.only.as_deref().is_none_or(|o| compare::name(d).contains(o)))
            .collect();
        let total = list.len() * seeds.len();
        let comparison = play_all(&list);
        let wall = started.elapsed().as_secs_f64();
        let requests: u64 = comparison.runs.iter().flatten().map(|r| r.requests).sum();
        let cpu: f64 = comparison.runs.iter().flatten().map(|r| r.wall_secs).sum();
        print!("{}", compare::table(&comparison));
        println!(
            "\n{requests} requests in {wall:.1} s wall ({:.0} requests/s; {cpu:.0} s of runs on {jobs} threads), \
             {} defences x {} seeds = {total} runs",
            requests as f64 / wall.max(1e-9),
            comparison.runs.len(),
            seeds.len()
        );
        if let Some(j) = &args.json {
            std::fs::write(j, serde_json::to_string_pretty(&comparison.runs)?)?;
        }
        if let Some(h) = &args.report {
            std::fs::write(h, compare::html(&comparison))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let widget = match args.widget {
        WidgetArg::Banking => engine::Widget::Banking,
        WidgetArg::SolveOnFocus => engine::Widget::SolveOnFocus,
    };
    let defence = engine::Defence::Gate(Box::new(lowered.clone()), "the policy".into(), widget);
    let mut exported = Vec::new();
    let mut cb = |f: f64| bar("playing", f);
    let export = if args.export_requests.is_some() { Some(&mut exported) } else { None };
    let mut report = engine::run(&scenario, &defence, seed, Some(&mut cb), export);
    report.wall_secs = started.elapsed().as_secs_f64();
    if !quiet {
        eprintln!();
    }
    print!("{}", report.table());
    if let Some(j) = &args.json {
        std::fs::write(j, serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(h) = &args.report {
        std::fs::write(h, report.html())?;
    }
    if let Some(x) = &args.export_requests {
        let doc = serde_json::json!({
            "scenario": scenario.name,
            "seed": seed,
            "discount_bits": lowered.bits,
            "policy_json": lowered.json,
            "report": report,
            "requests": exported,
        });
        std::fs::write(x, serde_json::to_string(&doc)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
