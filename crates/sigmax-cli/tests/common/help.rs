//! Checks a binary's `--help` texts: every subcommand, option and argument has words.
//! Shared with sigmax-nn's tests (included there by path).

use std::process::Command;

fn help(bin: &str, args: &[String]) -> String {
    let o = Command::new(bin)
        .args(args)
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(o.status.success(), "{args:?} --help failed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Subcommand names listed under "Commands:" (without `help`).
fn subcommands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Entries (options, arguments, subcommands) of one help text that have no description:
/// an entry line (indented 2–6 spaces, starting with `-`, `<`, `[` or a name under
/// "Commands:") with no text after it on the line and none on the next, more indented,
/// line.
fn undescribed(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut bad = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        let starts_entry = body.starts_with(['-', '<', '[']);
        if !(2..=6).contains(&indent) || !starts_entry {
            continue;
        }
        let described_here = body.split("  ").skip(1).any(|t| !t.trim().is_empty());
        let next = lines.get(i + 1).copied().unwrap_or("");
        let next_indent = next.len() - next.trim_start().len();
        let described_below = next_indent > 6 && !next.trim().is_empty();
        if !described_here && !described_below {
            bad.push(body.to_string());
        }
    }
    bad
}

/// Every option, argument and subcommand of `bin`, at every level, has a description.
pub fn assert_every_option_has_help(bin: &str) {
    let mut stack: Vec<Vec<String>> = vec![vec![]];
    let mut missing = Vec::new();
    let mut seen = 0;
    while let Some(args) = stack.pop() {
        let text = help(bin, &args);
        seen += 1;
        for entry in undescribed(&text) {
            missing.push(format!("{} {}: {entry}", bin, args.join(" ")));
        }
        for sub in subcommands(&text) {
            let mut a = args.clone();
            a.push(sub);
            stack.push(a);
        }
    }
    assert!(seen > 3, "{bin}: only {seen} help texts found");
    assert!(
        missing.is_empty(),
        "without help text:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_checker_finds_an_undescribed_option() {
    let text = "Options:\n      --json\n      --seed <SEED>  Seed\n  -o, --output <OUTPUT>\n          The file\n";
    assert_eq!(undescribed(text), vec!["--json".to_string()]);
}
