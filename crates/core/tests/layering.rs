//! Core's modules form layers, with no import circle: `clouds` is the ground floor, images
//! and networking stand on it, compute and volumes on those. Each file's `crate::<module>`
//! references are read from the source (test files and `#[cfg(test)]` modules aside), as
//! edges between core's top-level modules, and the graph must have no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component").as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

/// The source with `#[cfg(test)] mod …` blocks cut (they sit at the end of a file here).
fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    }
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dirs = vec![src.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !name.ends_with(".rs") || name == "tests.rs" || p.parent().is_some_and(|d| d.ends_with("tests")) {
                continue;
            }
            let from = top_module(&src, &p);
            let text = std::fs::read_to_string(&p).expect("read");
            for (i, _) in without_tests(&text).match_indices("crate::") {
                let rest = &text[i + "crate::".len()..];
                let to: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                // `crate::CoreError` and the like name items of lib.rs, not a module.
                if to != from && to.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    out.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    out
}

/// A path from `from` back to `to`, if there is one.
fn path(
    g: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if from == to {
        return Some(vec![to.to_string()]);
    }
    if !seen.insert(from.to_string()) {
        return None;
    }
    for next in g.get(from).into_iter().flatten() {
        if let Some(mut rest) = path(g, next, to, seen) {
            rest.insert(0, from.to_string());
            return Some(rest);
        }
    }
    None
}

#[test]
fn core_modules_have_no_import_circle() {
    let g = edges();
    for (from, tos) in &g {
        for to in tos {
            if let Some(back) = path(&g, to, from, &mut BTreeSet::new()) {
                panic!("import circle: {from} -> {}", back.join(" -> "));
            }
        }
    }
}

#[test]
fn clouds_are_the_ground_floor() {
    let g = edges();
    let clouds = g.get("clouds").cloned().unwrap_or_default();
    for service in ["compute", "images", "network", "volume", "identity"] {
        assert!(!clouds.contains(service), "clouds must not depend on {service}: {clouds:?}");
    }
    for service in ["compute", "images", "network", "volume"] {
        assert!(g.get(service).is_some_and(|d| d.contains("clouds")), "{service} stands on clouds");
    }
}
