//! Every parser on arbitrary bytes: no panic, and whatever parses serializes and re-parses to
//! the same configuration in its own format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pier_cors::{parse, parse_detect, serialize, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in Format::ALL {
        if let Ok(config) = parse(text, format) {
            let written = serialize(&config, format).expect("a config serializes in its own format");
            let back = parse(&written, format).expect("serialized output parses");
            assert_eq!(back, config, "round trip changed the rules:\n{written}");
        }
    }
    let _ = parse_detect(text, None);
});
