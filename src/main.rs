use kubestate::cli::Options;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let rbac = args.first().map(|a| a == "rbac").unwrap_or(false);
    if rbac {
        args.remove(0);
    }
    let argv = args.clone();
    let opts = match Options::parse(args) {
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
    if rbac {
        match kubestate::rbac::render(&opts) {
            Ok(yaml) => print!("{yaml}"),
            Err(e) => {
                eprintln!("kubestate: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    if opts.version {
        println!("kubestate {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let control = match kubestate::signals::listen() {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("kubestate: cannot install signal handling: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = kubestate::app::run(opts, argv, control) {
        kubestate::log_event!(kubestate::log::Level::Error, "cannot start", err = e);
        std::process::exit(e.exit_code());
    }
}
