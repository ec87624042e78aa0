//! Generates from a raw prompt file with the answer model, for trying prompts by hand:
//! `cargo run --release -p quire-engine --example generate -- MODEL.gguf PROMPT.txt [MAX_TOKENS]`
//! (the prompt is used as written, chat markers included; the output streams to stdout).

use std::io::Write;

use quire_engine::generate::{GeneratorOptions, GeneratorThread};
use quire_engine::{Flow, Sampling};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: generate MODEL.gguf PROMPT.txt [MAX_TOKENS]");
        std::process::exit(2);
    }
    let prompt = std::fs::read_to_string(&args[2]).expect("readable prompt file");
    let max_tokens = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(200);
    let generator = GeneratorThread::start(GeneratorOptions::new(&args[1])).expect("model loads");
    let info = generator.info().clone();
    eprintln!(
        "{} ({}), context {}, {} threads",
        info.name, info.architecture, info.context_tokens, info.threads
    );
    let stats = generator
        .run(move |g| {
            let stops = g.stop_sequences();
            let sampling = Sampling {
                max_tokens,
                ..Sampling::default()
            };
            g.generate(&prompt, &sampling, &stops, &mut |piece| {
                print!("{piece}");
                let _ = std::io::stdout().flush();
                Flow::Continue
            })
        })
        .expect("generator runs")
        .expect("generation works");
    println!();
    eprintln!(
        "{} prompt tokens, first token after {:.2} s, {} tokens at {:.1}/s, stop: {}",
        stats.prompt_tokens,
        stats.time_to_first_token.as_secs_f64(),
        stats.generated_tokens,
        stats.tokens_per_second,
        stats.stop.as_str()
    );
}
