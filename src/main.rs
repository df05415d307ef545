use kubestate::cli::Options;
use kubestate::log::Level;
use kubestate::log_event;

fn main() {
    // before any thread starts: glibc fixes a thread's arena when it first allocates
    let malloc = kubestate::allocator::tune_from_env();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // kube-state-metrics' cobra root command has `version` and `help`; `rbac` is ours
    match args.first().map(String::as_str) {
        Some("version") => {
            println!("{}", Options::version_text());
            return;
        }
        Some("help") => {
            print!("{}", Options::help_text());
            return;
        }
        _ => {}
    }
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
        println!("{}", Options::version_text());
        return;
    }
    kubestate::log::set_level(opts.log_level);
    kubestate::log::configure(opts.log_output.clone());
    for s in malloc.iter().filter(|s| !s.applied) {
        log_event!(
            Level::Warn,
            "glibc refused a malloc setting; running with its default",
            setting = s.name,
            value = s.value
        );
    }
    kubestate::allocator::spawn_stats_logger_from_env();
    let ignored = opts.no_effect_flags();
    if !ignored.is_empty() {
        log_event!(
            Level::Info,
            "kube-state-metrics flags accepted with no effect here",
            flags = ignored.join(",")
        );
    }
    if opts.given.iter().any(|f| f.starts_with("auto-gomemlimit")) {
        log_event!(
            Level::Info,
            "--auto-gomemlimit has no effect: kubestate has no Go runtime or garbage collector to tune, its memory is what the stores hold",
            auto_gomemlimit = opts.auto_gomemlimit,
            ratio = opts.auto_gomemlimit_ratio
        );
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
