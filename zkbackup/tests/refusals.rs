//! Off-path refusals of zkbackup: a store inside the data dir it backs up, a restore into its
//! own store, a dry run on a live member: exit 2 (or a note), nothing written.

#![allow(missing_docs)]

use std::path::Path;
use std::process::Command;

fn zkbackup(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_zkbackup"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dest.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

#[test]
fn stores_and_data_dirs_never_overlap() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/zk-3.8/recipes/version-2"),
        &data.join("version-2"),
    );
    let inner = data.join("backups");
    let (code, _, err) = zkbackup(&[
        "--store",
        inner.to_str().unwrap(),
        "create",
        "--label",
        "inside",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("overlap"), "{err}");
    assert!(!inner.exists(), "nothing created");
    let store = t.path().join("store");
    let (code, id, err) = zkbackup(&[
        "--store",
        store.to_str().unwrap(),
        "create",
        "--label",
        "outside",
        "-q",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let id = id.trim();
    let into_store = store.join("member");
    let (code, _, err) = zkbackup(&[
        "--store",
        store.to_str().unwrap(),
        "restore",
        id,
        "-o",
        into_store.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("overlap"), "{err}");
    assert!(!into_store.exists());
    // A restore of an unknown ID, and of a damaged archive, changes nothing in the member.
    let member = t.path().join("member");
    std::fs::create_dir_all(member.join("version-2")).unwrap();
    std::fs::write(member.join("myid"), b"1").unwrap();
    std::fs::write(member.join("version-2/snapshot.5"), b"old").unwrap();
    let unknown = "outside-00000000-0000-4000-8000-000000000000";
    let (code, _, err) = zkbackup(&[
        "--store",
        store.to_str().unwrap(),
        "restore",
        unknown,
        "-o",
        member.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    let archive = store.join(format!("zkbackup/v1/backups/{id}/data.tar.gz"));
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&archive, &bytes).unwrap();
    let (code, _, err) = zkbackup(&[
        "--store",
        store.to_str().unwrap(),
        "restore",
        id,
        "-o",
        member.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    let mut names: Vec<String> = std::fs::read_dir(&member)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["myid", "version-2"], "{err}");
    assert_eq!(
        std::fs::read(member.join("version-2/snapshot.5")).unwrap(),
        b"old"
    );
}
