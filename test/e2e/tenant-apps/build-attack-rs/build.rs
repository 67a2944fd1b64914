// Org B's build script (issue 14): cargo runs it during the managed runtime's compile, with the
// rights the plane gives the compile. It runs build_attack.py (beside it in the source, with
// attack.json) and hands every line of its report to cargo as a warning, which the compile log shows.
// It also leaves processes behind (one in a user and network namespace of its own) that would, if
// they outlived the compile, race the plane reading what the build wrote; their command lines
// carry the marker in linger.txt.
use std::process::{Command, Stdio};

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let linger = std::fs::read_to_string(format!("{dir}/linger.txt")).unwrap_or_default();
    let script = format!("sleep 3600; : {}", linger.trim());
    for argv in [vec!["setsid", "sh", "-c", &script], vec!["unshare", "-Urn", "sh", "-c", &script]] {
        let _ = Command::new(argv[0]).args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
    }
    let attack = std::fs::read_to_string(format!("{dir}/attack.json")).unwrap_or_default();
    match Command::new("python3").arg(format!("{dir}/build_attack.py")).arg(attack).output() {
        Ok(o) => {
            let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            for line in text.lines() {
                println!("cargo:warning={line}");
            }
        }
        Err(e) => println!("cargo:warning=BUILD-ATTACK-FAILED {e}"),
    }
}
