//! Errors, exit codes and output helpers shared by the subcommands.

use std::fmt;
use std::io::{self, Read, Write};
use std::process::ExitCode;

/// The exit statuses of the tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success; for `verify`, at least one signature verified.
    Ok = 0,
    /// `verify`: a signature was invalid and none verified.
    Invalid = 1,
    /// `verify`: nothing to verify (no signature, or only unverified ones).
    Nothing = 2,
    /// A usage or input error.
    Error = 3,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        ExitCode::from(status as u8)
    }
}

/// A usage or input error: a message that says what was wrong and where. Exits with
/// [`Status::Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(String);

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }

    /// An error about `place` (a file name, an option): `place: message`.
    pub fn at(place: &str, message: impl fmt::Display) -> Self {
        CliError(format!("{place}: {message}"))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Prints an error on standard error, prefixed with the program name.
pub fn report_error(err: &CliError) {
    let _ = writeln!(io::stderr().lock(), "web-bot-auth: error: {err}");
}

/// Prints a warning on standard error, prefixed with the program name.
pub fn warn(message: impl fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "web-bot-auth: warning: {message}");
}

/// Writes `text` to standard output and flushes it. A closed pipe is not an error (the reader
/// has seen what it wanted).
pub fn print(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::at("standard output", e)),
    }
}

/// The name used for standard input in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// Reads a file (or standard input for `-`), refusing more than `max` bytes.
pub fn read_input(path: &str, max: usize) -> Result<Vec<u8>, CliError> {
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut data = Vec::new();
    let (name, result) = if path == "-" {
        (
            STDIN_NAME,
            io::stdin().lock().take(limit).read_to_end(&mut data),
        )
    } else {
        let result = std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut data));
        (path, result)
    };
    result.map_err(|e| CliError::at(name, format_args!("cannot read: {e}")))?;
    if data.len() > max {
        return Err(CliError::at(
            name,
            format_args!("larger than {max} bytes; refused"),
        ));
    }
    Ok(data)
}

/// Reads a UTF-8 text file (or standard input for `-`) of at most `max` bytes.
pub fn read_text(path: &str, max: usize) -> Result<String, CliError> {
    let data = read_input(path, max)?;
    let name = if path == "-" { STDIN_NAME } else { path };
    String::from_utf8(data).map_err(|e| {
        CliError::at(
            name,
            format_args!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}
