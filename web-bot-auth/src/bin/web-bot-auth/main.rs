//! `web-bot-auth`: generate keys, publish key directories, sign requests and verify HTTP message
//! signatures (RFC 9421 and the Web Bot Auth profile) from the command line.
//!
//! Subcommands: `keygen`, `thumbprint`, `directory`, `sign` and `verify`. `verify` exits 0 when
//! a signature verified, 1 when one was invalid and none verified, 2 when there was nothing to
//! verify, and 3 on a usage or input error; the other subcommands exit 0 or 3.
#![forbid(unsafe_code)]

mod directory;
mod keyfile;
mod keygen;
mod output;
mod rfc9421;
mod sign;
mod thumbprint;
mod verify;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::{CliError, Status, report_error};

/// Sign and verify HTTP message signatures (RFC 9421) and Web Bot Auth requests.
#[derive(Debug, Parser)]
#[command(
    name = "web-bot-auth",
    version,
    after_help = "Exit status: 0 success (verify: a signature verified), 1 verify: a signature \
                  was invalid and none verified, 2 verify: nothing to verify, 3 usage or input \
                  error."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a new Ed25519 private key, as a JWK whose kid is its RFC 7638 thumbprint.
    Keygen {
        /// Write the key to FILE (created with mode 0600; it must not exist yet) instead of
        /// standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<String>,
    },
    /// Print the RFC 7638 thumbprint of a key (JWK or PEM, public or private).
    Thumbprint {
        /// The key file: a JWK (JSON object) or a PEM document.
        #[arg(value_name = "FILE")]
        file: String,
    },
    /// Print the key directory (JWKS) that publishes the public parts of the given keys.
    #[command(
        after_help = "An RSA key whose algorithm the file does not state is published for \
                      rsa-pss-sha512 (PS512)."
    )]
    Directory {
        /// A key file (JWK or PEM, public or private); repeat for more keys.
        #[arg(long = "key", value_name = "FILE", required = true)]
        keys: Vec<String>,
    },
    /// Sign a request under the Web Bot Auth profile and print the signed HTTP/1.1 message.
    Sign(SignArgs),
    /// Verify every signature of an HTTP/1.1 request or response; one JSON line per signature.
    Verify(VerifyArgs),
}

/// Options of `sign`.
#[derive(Debug, Args)]
#[command(
    after_help = "The signature covers @authority and the Signature-Agent member, with \
                        created, expires, keyid (the key's thumbprint), alg and \
                        tag=\"web-bot-auth\". The message is printed with LF line ends and \
                        ends with an empty line. An RSA private key whose algorithm the file \
                        does not state signs with rsa-pss-sha512."
)]
pub struct SignArgs {
    /// The private key file (JWK or PEM).
    #[arg(long, value_name = "FILE")]
    pub key: String,
    /// The https URL of the agent's key directory, sent in Signature-Agent.
    #[arg(long, value_name = "URL")]
    pub agent: String,
    /// The request method.
    #[arg(long, value_name = "M", default_value = "GET")]
    pub method: String,
    /// An extra header field, "Name: value"; repeat for more.
    #[arg(long, value_name = "Name: value")]
    pub header: Vec<String>,
    /// The signature's creation time, in seconds since the Unix epoch [default: now].
    #[arg(long, value_name = "UNIX")]
    pub created: Option<u64>,
    /// Seconds from created to expires.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub expires_in: u64,
    /// Add a random 64-byte nonce.
    #[arg(long)]
    pub nonce: bool,
    /// The signature label.
    #[arg(long, value_name = "L", default_value = "sig1")]
    pub label: String,
    /// The absolute http(s) URL of the request.
    #[arg(value_name = "URL")]
    pub url: String,
}

/// How `verify` judges signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Web Bot Auth (tag "web-bot-auth", keyid = JWK thumbprint, Signature-Agent covered).
    #[value(name = "web-bot-auth")]
    WebBotAuth,
    /// Plain RFC 9421: keyid is a free-form key name.
    #[value(name = "rfc9421")]
    Rfc9421,
}

/// Options of `verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Output: one JSON object per signature and line, with label, outcome \
                        (verified, invalid or unverified), keyid, alg, agent and reason (null \
                        where not applicable).\n\n\
                        Keys: --key and --jwks keys are pinned: under web-bot-auth they match \
                        the signature whose keyid is their thumbprint, whatever agent the \
                        request names. Under rfc9421 a key matches when its thumbprint or JWK \
                        kid equals the keyid; otherwise, if exactly one given key fits the \
                        signature's alg, that key is used. An RSA key whose algorithm the file \
                        does not state (PEM RSA PUBLIC KEY or rsaEncryption key, JWK without \
                        alg) is used with the signature's alg parameter; without one it is \
                        tried as rsa-pss-sha512, then as rsa-v1_5-sha256 (rfc9421), or taken \
                        as rsa-pss-sha512 (web-bot-auth). An HMAC secret is a JWK of kty \
                        \"oct\" (rfc9421 only).\n\n\
                        Exit status: 0 a signature verified, 1 a signature was invalid and none \
                        verified, 2 nothing to verify (no signature, or only unverified ones), \
                        3 usage or input error."
)]
pub struct VerifyArgs {
    /// A key file (JWK or PEM, public or private; only the public part is used); repeat for
    /// more.
    #[arg(long, value_name = "FILE")]
    pub key: Vec<String>,
    /// A JWKS / key directory file; its keys must have kid = thumbprint.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<String>,
    /// The current time, in seconds since the Unix epoch [default: the system clock].
    #[arg(long, value_name = "UNIX")]
    pub now: Option<u64>,
    /// Tolerated clock difference, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub skew: u64,
    /// Longest accepted expires - created, in seconds (web-bot-auth profile).
    #[arg(long, value_name = "SECONDS", default_value_t = 86400)]
    pub max_lifetime: u64,
    /// Which rules to verify by.
    #[arg(long, value_enum, default_value_t = Profile::WebBotAuth)]
    pub profile: Profile,
    /// Accept the RFC 9421 Appendix B.1 test keys (web-bot-auth profile; they are refused by
    /// default).
    #[arg(long)]
    pub allow_test_keys: bool,
    /// The request that the response being verified answers (for components marked ;req).
    #[arg(long, value_name = "FILE")]
    pub request_of: Option<String>,
    /// The HTTP/1.1 message to verify, or - for standard input.
    #[arg(value_name = "MESSAGE_FILE")]
    pub message: String,
}

fn run(cli: &Cli) -> Result<Status, CliError> {
    match &cli.command {
        Command::Keygen { out } => keygen::run(out.as_deref()).map(|()| Status::Ok),
        Command::Thumbprint { file } => thumbprint::run(file).map(|()| Status::Ok),
        Command::Directory { keys } => directory::run(keys).map(|()| Status::Ok),
        Command::Sign(args) => sign::run(args).map(|()| Status::Ok),
        Command::Verify(args) => verify::run(args),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to standard output and succeed; every other parse
            // failure is a usage error.
            let status = if e.use_stderr() {
                Status::Error
            } else {
                Status::Ok
            };
            let _ = e.print();
            return status.into();
        }
    };
    match run(&cli) {
        Ok(status) => status.into(),
        Err(e) => {
            report_error(&e);
            Status::Error.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
