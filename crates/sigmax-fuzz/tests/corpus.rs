//! The fuzz corpus (inputs that each reached a different outcome while fuzzing, see
//! `scripts/fuzz.sh`) replayed through every target: none may panic, and each must give
//! the same outcome twice (no hidden state).

use sigmax_fuzz::Target;
use std::path::Path;

#[test]
fn the_fuzz_corpus_runs_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut total = 0;
    for target in Target::ALL {
        let dir = root.join(target.name());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: empty corpus", dir.display());
        for f in &files {
            let input = std::fs::read(f).unwrap();
            let first = std::panic::catch_unwind(|| target.run(&input))
                .unwrap_or_else(|_| panic!("{} panics", f.display()));
            assert_eq!(first, target.run(&input), "{}", f.display());
        }
        total += files.len();
    }
    assert!(total >= Target::ALL.len());
}
