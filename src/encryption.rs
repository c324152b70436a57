//! Encryption at rest on the command line: the master key file (made at first start when it is
//! the data directory's default) and `pier kms`, the local key ring SSE-KMS encrypts with.

use crate::cli::KmsCommand;
use anyhow::Context as _;
use pier_crypto::MasterKey;
use std::path::Path;
use std::process::ExitCode;

/// The master key: `file`'s, or `master.key` in `data_dir`, made (mode 0600) when missing with
/// a warning to back it up.
pub fn master_key(data_dir: &Path, file: Option<&Path>) -> anyhow::Result<MasterKey> {
    if let Some(path) = file {
        return MasterKey::load(path)
            .with_context(|| format!("reading the master key file {}", path.display()));
    }
    let path = data_dir.join("master.key");
    match MasterKey::load(&path) {
        Ok(key) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let key = MasterKey::create(&path)
                .with_context(|| format!("creating the master key {}", path.display()))?;
            tracing::warn!(
                path = %path.display(),
                id = key.id(),
                "made a master key for server-side encryption: back it up, objects encrypted under it cannot be read without it"
            );
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading the master key {}", path.display())),
    }
}

/// `pier kms ...`.
pub fn kms(cmd: KmsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KmsCommand::CreateKey {
            data,
            master_key_file,
            id,
        } => {
            let store = data.open_admin()?;
            let master = master_key(&data.data_dir, master_key_file.as_deref())?;
            store
                .set_master_key(Some(master))
                .context("the master key does not open this data directory's objects")?;
            store.create_kms_key(&id)?;
            store.close()?;
            println!("created key {id} in the key ring");
        }
        KmsCommand::RotateMaster {
            data,
            master_key_file,
            new_master_key_file,
        } => {
            // The running server holds the old key: refuse while it holds the directory.
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(data.data_dir.join("LOCK"))?;
            if lock.try_lock().is_err() {
                anyhow::bail!(
                    "a server is running on {}: stop it (and every node sharing its metadata) first",
                    data.data_dir.display()
                );
            }
            let store = data.open_admin()?;
            let old = master_key(&data.data_dir, master_key_file.as_deref())?;
            let new = MasterKey::load(&new_master_key_file).with_context(|| {
                format!(
                    "reading the new master key {}",
                    new_master_key_file.display()
                )
            })?;
            store
                .set_master_key(Some(old.clone()))
                .context("the current master key does not open this data directory's objects")?;
            let (envelopes, ring) = store.rotate_master_key(&new)?;
            store.close()?;
            if master_key_file.is_none() {
                let path = data.data_dir.join("master.key");
                let kept = data
                    .data_dir
                    .join(format!("master.key.retired-{}", old.id()));
                std::fs::rename(&path, &kept)?;
                std::fs::copy(&new_master_key_file, &path)?;
                #[cfg(unix)]
                std::fs::set_permissions(
                    &path,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )?;
                println!(
                    "DATA_DIR/master.key now holds the new key; the old one is {}",
                    kept.display()
                );
            }
            println!(
                "rewrapped {envelopes} object keys and {ring} key ring keys under master key {}",
                new.id()
            );
            drop(lock);
        }
        KmsCommand::List { data } => {
            let store = data.open_admin()?;
            let keys = store.kms_keys()?;
            store.close()?;
            if keys.is_empty() {
                println!("the key ring has no keys");
            }
            for (id, created) in keys {
                println!("{id}\tcreated {created}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
