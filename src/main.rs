use kubestate::cli::Options;

fn main() {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kubestate: {e}");
            std::process::exit(2);
        }
    };
    if opts.help {
        print!("{}", Options::help_text());
        return;
    }
    if opts.version {
        println!("kubestate {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let control = match kubestate::signals::listen() {
        Ok((_, rx)) => rx,
        Err(e) => {
            eprintln!("kubestate: cannot install signal handling: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = kubestate::app::run(opts, control) {
        kubestate::log_event!(kubestate::log::Level::Error, "cannot start", err = e);
        std::process::exit(e.exit_code());
    }
}
