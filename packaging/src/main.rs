//! `zkformat-packaging`: writes the man pages and shell completions of `zkfilter`, `zkdump` and
//! `zkbackup` from their clap definitions (the same `Command`s the binaries parse with), for
//! the Debian package `cargo deb -p zkformat-packaging` builds.
//!
//! ```text
//! cargo run -p zkformat-packaging [-- OUT_DIR]
//! ```
//!
//! The default `OUT_DIR`, `packaging/generated/` (where the package metadata looks), is emptied
//! first; another folder is only written into.
//!
//! Writes, below `OUT_DIR`:
//! * `man/<tool>.1` and `man/<tool>-<subcommand>.1` (every subcommand, nested ones too);
//! * `completions/bash/<tool>`, `completions/zsh/_<tool>`, `completions/fish/<tool>.fish`:
//!   the names each shell's completion folder expects.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::{Command, CommandFactory};
use clap_complete::Shell;

/// Where the package metadata (`packaging/Cargo.toml`) looks for the files.
const DEFAULT_OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/generated");

/// The three tools, as their binaries parse their arguments.
fn tools() -> [Command; 3] {
    [
        zkfilter::filter_cmd::ZkfilterCli::command(),
        zkfilter::dump::args::Cli::command(),
        zkbackup::cli::Cli::command(),
    ]
}

fn main() -> std::process::ExitCode {
    let arg = std::env::args_os().nth(1);
    let out = arg
        .as_ref()
        .map_or_else(|| PathBuf::from(DEFAULT_OUT), PathBuf::from);
    // The default folder is emptied first, so that a removed subcommand leaves no stale page
    // for the package; a folder given on the command line is only written into.
    if arg.is_none() && out.exists() {
        if let Err(e) = fs::remove_dir_all(&out) {
            eprintln!("error: {}: {e}", out.display());
            return std::process::ExitCode::from(2);
        }
    }
    match write_all(&out) {
        Ok(n) => {
            let shown = fs::canonicalize(&out).unwrap_or(out);
            println!("wrote {n} files below {}", shown.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", out.display());
            std::process::ExitCode::from(2)
        }
    }
}

/// Writes every man page and completion script below `out`. Returns how many files were
/// written.
fn write_all(out: &Path) -> io::Result<usize> {
    let mut n = 0;
    for cmd in tools() {
        n += write_man_pages(cmd.clone(), &out.join("man"))?;
        n += write_completions(cmd, &out.join("completions"))?;
    }
    Ok(n)
}

/// `<name>.1` for `cmd` and `<name>-<sub>.1` for each of its (non-hidden) subcommands.
fn write_man_pages(cmd: Command, dir: &Path) -> io::Result<usize> {
    fs::create_dir_all(dir)?;
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let version = cmd.get_version().unwrap_or_default().to_string();
    let date = man_date();
    let mut n = 0;
    let mut pending = vec![cmd];
    while let Some(cmd) = pending.pop() {
        // Subcommand pages are named as git's are: `zkdump-verify(1)`.
        let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
        pending.extend(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .cloned()
                .map(|s| {
                    let sub = format!("{name}-{}", s.get_name());
                    s.display_name(sub)
                }),
        );
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .title(name.to_uppercase())
            .source(format!("zkformat-tools {version}"))
            .manual("User Commands")
            .date(&date)
            .render(&mut page)?;
        fs::write(dir.join(format!("{name}.1")), page)?;
        n += 1;
    }
    Ok(n)
}

/// The date in the pages' header: `SOURCE_DATE_EPOCH` (seconds; set by reproducible builds),
/// else today, as `YYYY-MM-DD` (UTC).
fn man_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    let mut date = zkfilter::dump::format_time(secs.saturating_mul(1000));
    date.truncate("YYYY-MM-DD".len());
    date
}

/// Bash, zsh and fish completions for `cmd`.
fn write_completions(mut cmd: Command, dir: &Path) -> io::Result<usize> {
    let name = cmd.get_name().to_string();
    let files = [
        (Shell::Bash, "bash", name.clone()),
        (Shell::Zsh, "zsh", format!("_{name}")),
        (Shell::Fish, "fish", format!("{name}.fish")),
    ];
    for (shell, sub, file) in &files {
        let mut script = Vec::new();
        clap_complete::generate(*shell, &mut cmd, name.clone(), &mut script);
        fs::create_dir_all(dir.join(sub))?;
        fs::write(dir.join(sub).join(file), script)?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_completions_for_every_tool_and_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let n = write_all(dir.path()).unwrap();
        let man = dir.path().join("man");
        for page in [
            "zkfilter",
            "zkfilter-datadir",
            "zkdump",
            "zkdump-verify",
            "zkbackup-restore",
        ] {
            let text = fs::read_to_string(man.join(format!("{page}.1"))).unwrap();
            assert!(
                text.contains(&format!(".TH {} 1 ", page.to_uppercase())),
                "{text}"
            );
        }
        assert!(!man.join("zkdump-help.1").exists());
        let bash = fs::read_to_string(dir.path().join("completions/bash/zkdump")).unwrap();
        assert!(bash.contains("complete -F _zkdump"), "{bash}");
        assert!(dir.path().join("completions/zsh/_zkbackup").is_file());
        assert!(dir.path().join("completions/fish/zkfilter.fish").is_file());
        let pages = fs::read_dir(&man).unwrap().count();
        assert_eq!(n, pages + 3 * 3);
    }
}
