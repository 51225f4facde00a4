//! Where an experiment may write: never among the recordings it reads.

use innmf::error::{Error, Result};
use innmf::io;
use std::path::Path;

/// The folders an experiment writes under OUT (besides plan.json, results.json and REPORT.md).
const OUT_FOLDERS: [&str; 3] = ["units", "models", "figures"];

/// Refuses an output folder that is the data folder or inside it: plan.json, units/ and the
/// reports would be written among the recordings (and a later plan would scan them as data).
/// An output folder that contains the data folder is accepted unless the data sits in one of the
/// folders the experiment writes (units/, models/, figures/), where files could be written over
/// recordings. Checked before anything is read or written.
///
/// # Errors
/// [`Error::InvalidParameter`] naming `--out`.
pub fn check_out_dir(data: &Path, out: &Path) -> Result<()> {
    let (d, o) = (io::resolve_path(data), io::resolve_path(out));
    if o.starts_with(&d) {
        return Err(Error::param(
            "out",
            out.display(),
            format!(
                "an output folder outside the data folder {}: the experiment writes plan.json, \
                 units/, models/, figures/ and its reports there, among the recordings",
                data.display()
            ),
        ));
    }
    if let Some(f) = OUT_FOLDERS.iter().find(|f| d.starts_with(o.join(f))) {
        return Err(Error::param(
            "out",
            out.display(),
            format!(
                "an output folder whose {f}/ does not hold the data folder {}: the experiment \
                 writes its files there",
                data.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_folder_in_the_data_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(data.join("speech")).unwrap();
        // the same folder, spelt two ways, and folders inside it (existing or not)
        for out in [
            data.clone(),
            data.join("."),
            data.join("speech"),
            data.join("new/results"),
            tmp.path().join("data/../data/run"),
        ] {
            let m = check_out_dir(&data, &out).unwrap_err().to_string();
            assert!(
                m.contains("outside the data folder"),
                "{}: {m}",
                out.display()
            );
        }
        // beside it, or around it: fine, unless the data is where the experiment writes
        for out in [tmp.path().join("out"), tmp.path().to_path_buf()] {
            check_out_dir(&data, &out).unwrap();
        }
        let inside_units = tmp.path().join("run/units/data");
        std::fs::create_dir_all(&inside_units).unwrap();
        let m = check_out_dir(&inside_units, &tmp.path().join("run"))
            .unwrap_err()
            .to_string();
        assert!(m.contains("units/"), "{m}");
    }
}
