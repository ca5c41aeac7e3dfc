//! `zkfilter`: make ZooKeeper backups safe to restore. See `zkfilter --help`.

fn main() -> std::process::ExitCode {
    zkfilter::filter_cmd::main()
}
