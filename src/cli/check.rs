//! `sluice check FILE`: the preflight of a run, on demand. Each provider block of the workflow
//! is called once with its adapter's cheapest authenticated call, as a run does before its
//! first write: for CI, and for operators after rotating a key.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::common::{SandboxFlag, build_providers};
use super::{exit, workflow};
use crate::engine::breaker::{credential_hint, refuses_credentials};

/// Check that each provider block's credentials are accepted and its provider answers.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice check workflows/payroll.yaml
  WHALESTACK_API_SECRET=... sluice check workflows/payroll.yaml

Exit status: 0 when every provider block passed, 1 when one did not, 2 for an invalid workflow.")]
pub struct CheckArgs {
    /// The workflow file whose provider blocks to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub sandbox: SandboxFlag,
}

/// Runs `check`: a line per provider block.
///
/// # Errors
/// When a provider block cannot be configured (a missing environment variable).
pub async fn run(args: &CheckArgs) -> Result<ExitCode> {
    let Ok((_, compiled)) = workflow::load_and_compile(&args.file).map_err(workflow::report_io)
    else {
        return Ok(exit::code(exit::INVALID));
    };
    let sandbox = args.sandbox.start().await?;
    let providers = build_providers(&compiled.config, sandbox.as_ref())?;
    let mut failed = 0;
    for (name, block) in &compiled.config.providers {
        let Some(provider) = providers.get(name) else {
            continue;
        };
        let kind = block.kind.as_str();
        match provider.preflight().await {
            Ok(()) => println!("ok      {name} ({kind})"),
            Err(e) if refuses_credentials(&e) => {
                failed += 1;
                println!(
                    "refused {name} ({kind}): credentials were refused: check {} ({e})",
                    credential_hint(block)
                );
            }
            Err(e) if e.status().is_some_and(|s| s < 500) => {
                println!("ok      {name} ({kind}): credentials accepted ({e})");
            }
            Err(e) => {
                failed += 1;
                println!("down    {name} ({kind}): {e}");
            }
        }
    }
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(exit::code(if failed == 0 {
        exit::SUCCESS
    } else {
        exit::FAILED
    }))
}
