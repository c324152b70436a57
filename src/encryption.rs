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
