//! A command-line use of the example client:
//!
//! ```text
//! tessera-example-client put-check DEPLOYMENT NAME STATE [RESULT] [DESCRIPTION]
//! tessera-example-client projects
//! ```
//!
//! `EXAMPLE_API_URL` and `TESSERA_ISSUER` name the API and the issuer; `TESSERA_CLIENT_ID` and
//! `TESSERA_CLIENT_SECRET` the credentials. Prints JSON on stdout.

use std::process::ExitCode;

use futures_util::TryStreamExt;
use tessera_example_client::{CheckInput, ExampleClient, PutCheck};

async fn run(args: &[String]) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let api = std::env::var("EXAMPLE_API_URL").map_err(|_| "EXAMPLE_API_URL is not set")?;
    let issuer = std::env::var("TESSERA_ISSUER").map_err(|_| "TESSERA_ISSUER is not set")?;
    let client = ExampleClient::from_env(&api, &issuer)?;
    match args {
        [command, deployment, name, state, rest @ ..] if command == "put-check" => {
            let check = client
                .deployments()
                .put_check(&PutCheck {
                    deployment_number: deployment.parse()?,
                    name: name.clone(),
                    check: CheckInput { state: state.clone(), result: rest.first().cloned(), description: rest.get(1).cloned() },
                })
                .await?;
            Ok(serde_json::to_value(check)?)
        }
        [command] if command == "projects" => {
            let projects: Vec<_> = client.projects().list().try_collect().await?;
            Ok(serde_json::to_value(projects)?)
        }
        _ => Err("usage: tessera-example-client put-check DEPLOYMENT NAME STATE [RESULT] [DESCRIPTION] | projects".into()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
