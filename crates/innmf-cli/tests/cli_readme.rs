//! The README's tour of the CLI names only subcommands, workloads and flags the CLI has.
//!
//! The tour's commands run on the shared recordings, which a fresh clone does not hold, so they
//! are checked against `--help` instead of run: each `innmf SUB …` line's flags must be
//! options of `innmf SUB`, and each flag a comment line names must be an option of the
//! command just before or just after it (a comment describes the command it sits next to).
//! `experiment`'s study and `bench`'s workload must be among the values their help lists.

mod common;

use std::collections::HashMap;

/// The tour's `sh` block, its continuation lines joined.
fn tour_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("read README.md");
    let (_, after) = readme
        .split_once("## A tour of the CLI")
        .expect("README.md has a tour of the CLI");
    let (_, block) = after
        .split_once("```sh\n")
        .expect("the tour has an sh block");
    let (block, _) = block.split_once("\n```").expect("the sh block is closed");
    let mut lines = Vec::new();
    let mut cur = String::new();
    for raw in block.lines() {
        let (body, cont) = match raw.trim_end().strip_suffix('\\') {
            Some(b) => (b, true),
            None => (raw, false),
        };
        cur.push_str(body);
        cur.push(' ');
        if !cont {
            lines.push(cur.trim().to_string());
            cur.clear();
        }
    }
    lines
}

/// `--name` tokens of a text (split on `/`, `,`, `=`, `:` and spaces; `--w/--h` gives both).
fn flags(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '/' | ',' | '=' | ':' | '(' | ')' | '`'))
        .filter_map(|tok| {
            let name = tok.strip_prefix("--")?;
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (!name.is_empty()).then(|| format!("--{name}"))
        })
        .collect()
}

/// The words after `innmf` on a command line (`for …; do innmf …; done` included), or None.
fn command_words(line: &str) -> Option<Vec<&str>> {
    if line.starts_with('#') {
        return None;
    }
    let start = line.find("innmf ")?;
    // `cargo bench -p innmf …` and scripts under bench/ are not the CLI
    if start > 0 && !line[..start].trim_end().ends_with("do") {
        return None;
    }
    let rest = &line[start + "innmf ".len()..];
    let rest = rest.split(';').next().unwrap_or(rest);
    let rest = rest.split('#').next().unwrap_or(rest);
    Some(rest.split_whitespace().collect())
}

fn help(sub: &str, cache: &mut HashMap<String, String>) -> String {
    cache
        .entry(sub.to_string())
        .or_insert_with(|| {
            let (ok, out, err) = common::innmf(&[sub, "--help"]);
            assert!(ok, "innmf {sub} --help failed: {err}");
            out
        })
        .clone()
}

fn has_flag(help: &str, flag: &str) -> bool {
    help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .any(|tok| tok == flag)
}

#[test]
fn the_tours_subcommands_and_flags_exist() {
    let lines = tour_lines();
    let mut cache = HashMap::new();
    // each line's command (its subcommand), or None for comments and other programs
    let subs: Vec<Option<String>> = lines
        .iter()
        .map(|l| command_words(l).map(|w| w[0].to_string()))
        .collect();
    assert!(
        subs.iter().flatten().count() >= 20,
        "the tour should have its ~30 commands; parsed {:?}",
        subs.iter().flatten().collect::<Vec<_>>()
    );
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(words) = command_words(line) {
            let sub = words[0];
            let h = help(sub, &mut cache);
            if matches!(sub, "experiment" | "bench") {
                let which = words.get(1).copied().unwrap_or("(nothing)");
                if !has_flag(&h, which) {
                    problems.push(format!("`innmf {sub} {which}`: not in its --help"));
                }
            }
            for flag in flags(&words[1..].join(" ")) {
                if !has_flag(&h, &flag) {
                    problems.push(format!("`innmf {sub}` has no {flag} (line: {line})"));
                }
            }
        } else if line.starts_with('#') {
            let near: Vec<&String> = [
                subs[..i].iter().rev().flatten().next(),
                subs[i + 1..].iter().flatten().next(),
            ]
            .into_iter()
            .flatten()
            .collect();
            for flag in flags(line) {
                if !near.iter().any(|s| has_flag(&help(s, &mut cache), &flag)) {
                    problems.push(format!(
                        "comment names {flag}, an option of neither neighbouring command {near:?}: {line}"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "README tour drifted from the CLI:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_catches_a_flag_the_cli_does_not_have() {
    let mut cache = HashMap::new();
    let h = help("fit", &mut cache);
    assert!(has_flag(&h, "--rank"));
    assert!(!has_flag(&h, "--rnak"));
    assert_eq!(
        flags("#   --w/--h implicit|explicit, --omega"),
        ["--w", "--h", "--omega"]
    );
    assert_eq!(
        command_words("for s in 0 1; do innmf experiment separation --seed $s; done").unwrap(),
        ["experiment", "separation", "--seed", "$s"]
    );
    assert!(command_words("cargo bench -p innmf --bench workloads").is_none());
}
