//! `zkbackup`: hot, verified backups of running ZooKeeper servers. See `zkbackup --help`.

fn main() -> std::process::ExitCode {
    zkbackup::cli::main()
}
