"""The ``emolab`` command line.

Each subcommand is a thin wrapper over one public function of the package, so everything the
command line does can be done from Python too. Errors on bad input (:class:`EmolabError`) print
as one line on stderr and exit with status 2; ``--debug`` shows the full traceback instead.

Heavy libraries are imported inside the handlers, so ``emolab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

from . import __version__
from .config import KEYFRAME_INTERVAL
from .errors import EmolabError

Handler = Callable[[argparse.Namespace], int]


# --------------------------------------------------------------------------- handlers
def _cmd_info(args: argparse.Namespace) -> int:
    from .info import environment_report, format_report

    report = environment_report()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _cmd_data_summary(args: argparse.Namespace) -> int:
    from .data import read_corpus, summarize

    manifest = read_corpus(args.dataset, args.path)
    summary = summarize(manifest)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        from .data.summary import format_summary

        print(format_summary(summary))
    return 0


def _cmd_data_list(args: argparse.Namespace) -> int:
    from .data import available_corpora

    for name, doc in available_corpora().items():
        print(f"{name:<12} {doc}")
    return 0


def _cmd_synth_lesson(args: argparse.Namespace) -> int:
    from .synth import LessonConfig, generate_lesson

    config = LessonConfig(
        n_students=args.students, seconds=args.seconds, seed=args.seed, layout=args.layout,
        width=args.width, height=args.height, fps=args.fps,
    )
    result = generate_lesson(args.outdir, config, overwrite=args.overwrite, progress=not args.quiet)
    print(f"wrote lesson ({config.seconds:g} s, {config.n_students} students + teacher) to {result.folder}")
    for name in ("video", "audio", "transcript", "truth"):
        print(f"  {name:<10} {getattr(result, name)}")
    return 0


def _cmd_synth_trainset(args: argparse.Namespace) -> int:
    from .synth import TrainsetConfig, generate_trainset

    config = TrainsetConfig(n_identities=args.identities, clips_per_emotion=args.clips, seed=args.seed, size=args.size)
    result = generate_trainset(args.outdir, config, overwrite=args.overwrite, progress=not args.quiet)
    print(f"wrote {len(result)} labelled clips from {config.n_identities} identities to {args.outdir}")
    return 0


def _cmd_audit_leakage(args: argparse.Namespace) -> int:
    from .audit import format_leakage, leakage_audit

    table = leakage_audit(args.dataset, args.path, model=args.model, seed=args.seed, max_samples=args.max_samples)
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        print(format_leakage(table))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .recipes import train_recipe

    result = train_recipe(args.model, args.dataset, args.path, args.out, epochs=args.epochs, batch_size=args.batch_size,
                          lr=args.lr, seed=args.seed, resume=args.resume, progress=not args.quiet, balance=args.balance,
                          patience=args.patience, max_samples=args.max_samples, class_weights=not args.no_class_weights,
                          label_smoothing=args.label_smoothing, init=args.init, monitor=args.monitor, labels=args.labels,
                          model_config=json.loads(args.config) if args.config else None, augment=args.augment,
                          lowres=args.lowres, mixup=args.mixup, teacher=args.teacher, distill=args.distill,
                          distill_temperature=args.distill_temperature, head_lr=args.head_lr)
    metrics = result.metrics
    keys = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "n", "seconds")
    print(json.dumps({k: metrics[k] for k in keys}, indent=2) if args.json else
          "validation: " + ", ".join(f"{k} {metrics[k]:.4g}" for k in keys) + f"\nmodel written to {result.model_path}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .recipes import evaluate_recipe

    if args.predictions and Path(args.predictions).exists() and not args.overwrite:  # before the corpus is read
        raise EmolabError(f"{args.predictions} exists already", hint="give another file, or --overwrite to replace it")
    ev = evaluate_recipe(args.model, args.dataset, args.path, split=args.split, progress=not args.quiet, max_samples=args.max_samples,
                         classes=args.classes)
    if args.predictions:
        from .atomic import write_csv

        write_csv(args.predictions, ev.predictions)
    if args.json:
        print(json.dumps({**ev.metrics, "per_class_accuracy": dict(zip(ev.per_class.label, ev.per_class.accuracy)), "scored": ev.scored},
                         indent=2))
    else:
        sc = ev.scored
        print(f"{'scored':<20} split {sc['split']}: {sc['n']} of {sc['of']} labelled rows ({sc['reason']})")
        print("\n".join(f"{k:<20} {v:.4f}" if isinstance(v, float) else f"{k:<20} {v}" for k, v in ev.metrics.items()))
        print(ev.per_class.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if args.predictions:
            print(f"{'predictions':<20} {args.predictions} ({len(ev.predictions)} rows)")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .timeline.batch import INDEX, analyze_many

    config_overrides = {"model": args.model, "sample_fps": args.sample_fps, "smoothing": args.smoothing,
                        "keyframe_interval": args.keyframe_interval}
    report = analyze_many(args.videos, args.out, transcript=args.transcript, force=args.force, progress=not args.quiet,
                          ray_address=args.ray, **config_overrides)
    for r in report:
        status = {"done": "analysed", "skipped": "already done (skipped)", "failed": "FAILED"}[r["status"]]
        print(f"{status:<24} {r['video']}" + (f"  ->  {r['out']}" if r["status"] != "failed" else f": {r['error']}"))
    index = Path(args.out) / INDEX
    if len(report) > 1 and index.is_file():
        print(f"{'index':<24} {index}")
    failed = [r for r in report if r["status"] == "failed"]
    if failed:
        print(f"emolab: error: {len(failed)} of {len(report)} recording(s) failed (listed above)", file=sys.stderr)
        return 2
    return 0


def _fl_settings(args: argparse.Namespace) -> dict:
    return {"local_epochs": args.local_epochs, "strategy": args.strategy, "proximal_mu": args.mu, "balance": args.balance,
            "dp_noise": args.dp_noise, "dp_clip": args.dp_clip, "seed": args.seed, "batch_size": args.batch_size,
            "model_config": json.loads(args.config) if args.config else None}


def _cmd_federate(args: argparse.Namespace) -> int:
    from .recipes import federate_recipe

    res = federate_recipe(args.model, args.dataset, args.path, n_clients=args.clients, rounds=args.rounds, partition=args.partition,
                          out=args.out, centralized=args.centralized, **_fl_settings(args))
    glob = res.history[(res.history.client == "global") & (res.history.phase == "test")]
    if args.json:
        print(json.dumps({"rounds": glob[["round", "accuracy", "balanced_accuracy"]].to_dict("records"), "centralized": res.centralized,
                          "seconds": res.seconds, "dp": {"noise_multiplier": args.dp_noise, "clipping_norm": args.dp_clip} if args.dp_noise else None},
                         indent=2))
    else:
        print(res.history.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if res.centralized:
            print(f"centralised on the same data: accuracy {res.centralized['accuracy']:.3f}")
        if args.dp_noise:
            print(f"differential privacy: server-side fixed clipping, noise multiplier {args.dp_noise}, clipping norm {args.dp_clip}")
    return 0


def _cmd_federate_split(args: argparse.Namespace) -> int:
    from .recipes import split_clients_recipe

    for f in split_clients_recipe(args.model, args.dataset, args.path, args.out, n_clients=args.clients,
                                  partition=args.partition, seed=args.seed):
        print(f)
    return 0


def _fl_config(args: argparse.Namespace):
    from pathlib import Path

    from .federated import FederatedConfig

    settings = _fl_settings(args)
    mc = settings.pop("model_config") or {}
    cfg_file = Path(args.model_config_file) if getattr(args, "model_config_file", None) else None
    if cfg_file:
        mc = {**json.loads(cfg_file.read_text()), **mc}
    return FederatedConfig(kind=args.model, rounds=getattr(args, "rounds", 1), model_config=mc, **settings)


def _cmd_federate_server(args: argparse.Namespace) -> int:
    from .federated import run_server
    from .atomic import write_csv

    res = run_server(args.address, args.clients, _fl_config(args))
    if args.out:
        from .models import save_model

        write_csv(f"{args.out}/history.csv", res.history)
        save_model(f"{args.out}/model.safetensors", res.model)
    print(res.history.to_string(index=False))
    return 0


def _cmd_federate_client(args: argparse.Namespace) -> int:
    from .federated import run_client

    run_client(args.address, args.cid, args.data, _fl_config(args))
    return 0


# --------------------------------------------------------------------------- parser
def _command(sub, name: str, *, help: str, example: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with one example command line."""
    return sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".", epilog=f"example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _flags(p: argparse.ArgumentParser, *names: str) -> None:
    """The switches many commands share: ``json``, ``quiet``, ``overwrite``."""
    text = {"json": "print the result as JSON instead of text", "quiet": "no progress bars or messages",
            "overwrite": "replace what OUTDIR holds already"}
    for name in names:
        p.add_argument(f"--{name}", action="store_true", help=text[name])


def _corpus(p: argparse.ArgumentParser, *, option: bool = True, synthetic: bool = True) -> None:
    """The corpus to read: its name (``--dataset``, or positional) and the folder it was unpacked in."""
    from .registry import CORPORA

    text = f"corpus name: {', '.join(CORPORA)} (see 'emolab data list')"
    text += ", or 'synthetic' for a folder written by 'emolab synth trainset'" if synthetic else ""
    p.add_argument(*(["--dataset"] if option else ["dataset"]), **({"required": True} if option else {}), help=text)
    p.add_argument("path", help="folder (or file) where the corpus was unpacked")


def _seed(p: argparse.ArgumentParser, of: str) -> None:
    """``--seed``, saying what it seeds."""
    p.add_argument("--seed", type=int, default=0, help=f"random seed of {of} (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``emolab`` command (exposed for docs and tests)."""
    from .registry import BUNDLED_MODELS, LESSON_MODELS, MODEL_KINDS

    kinds = list(MODEL_KINDS)
    parser = argparse.ArgumentParser(
        prog="emolab",
        description="Multimodal classroom emotion recognition: corpora, synthetic lessons, "
        "preprocessing, balancing, models, federated training and per-student timelines.",
        epilog="example:\n  emolab analyze lesson.mp4 --out reports/lesson1", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"emolab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _command(sub, "info", help="versions, compute device, offline detectors and bundled models", example="emolab info --json")
    _flags(p, "json")
    p.set_defaults(handler=_cmd_info)

    data = _command(sub, "data", help="read corpora into a manifest", example="emolab data summary ravdess ~/corpora/RAVDESS")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    p = _command(data_sub, "summary", help="counts per label, split and subject of a corpus",
                 example="emolab data summary ravdess ~/corpora/RAVDESS --json")
    _corpus(p, option=False, synthetic=False)
    _flags(p, "json")
    p.set_defaults(handler=_cmd_data_summary)
    p = _command(data_sub, "list", help="the corpora emolab can read", example="emolab data list")
    p.set_defaults(handler=_cmd_data_list)
    data.set_defaults(handler=_help_of(data))

    synth = _command(sub, "synth", help="generate synthetic lessons and training sets", example="emolab synth lesson out/lesson")
    synth_sub = synth.add_subparsers(dest="synth_command", metavar="ACTION")
    p = _command(synth_sub, "lesson", help="a synthetic lesson: video+audio, transcript, ground truth",
                 example="emolab synth lesson out/lesson --students 8 --seconds 60")
    p.add_argument("outdir", help="folder to write the lesson to (lesson.mp4, lesson.srt, truth.csv, ...)")
    p.add_argument("--students", type=int, default=8, help="number of students, besides the teacher (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=60.0, help="length of the lesson in seconds (default: %(default)s)")
    _seed(p, "the lesson: the same seed gives the same lesson")
    p.add_argument("--layout", choices=["gallery", "classroom"], default="gallery",
                   help="gallery: an online-class grid of faces; classroom: seated rows seen from the front (default: %(default)s)")
    p.add_argument("--width", type=int, default=640, help="video width in pixels (default: %(default)s)")
    p.add_argument("--height", type=int, default=360, help="video height in pixels (default: %(default)s)")
    p.add_argument("--fps", type=float, default=15.0, help="video frame rate in frames per second (default: %(default)s)")
    _flags(p, "overwrite", "quiet")
    p.set_defaults(handler=_cmd_synth_lesson)
    p = _command(synth_sub, "trainset", help="labelled multimodal clips from many synthetic identities",
                 example="emolab synth trainset out/trainset --identities 24")
    p.add_argument("outdir", help="folder to write the training set to (manifest.csv, faces.npy, audio.npy, trainset.json)")
    p.add_argument("--identities", type=int, default=24, help="number of synthetic people (default: %(default)s)")
    p.add_argument("--clips", type=int, default=4, help="clips per emotion and identity (default: %(default)s)")
    p.add_argument("--size", type=int, default=48, help="face crop size in pixels (default: %(default)s)")
    _seed(p, "identities, expressions and voices")
    _flags(p, "overwrite", "quiet")
    p.set_defaults(handler=_cmd_synth_trainset)
    synth.set_defaults(handler=_help_of(synth))

    audit = _command(sub, "audit", help="check evaluation protocols", example="emolab audit leakage --dataset ravdess ~/corpora/RAVDESS")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    p = _command(audit_sub, "leakage", help="how much SMOTE-before-split and subject leakage inflate accuracy",
                 example="emolab audit leakage --dataset ravdess ~/corpora/RAVDESS")
    _corpus(p, synthetic=False)
    p.add_argument("--model", default="svm", choices=["svm", "logreg", "forest"],
                   help="classifier on the baseline features: SVM, logistic regression or random forest (default: %(default)s)")
    _seed(p, "folds and SMOTE")
    p.add_argument("--max-samples", type=int, default=None, help="use a stratified subsample of this many samples (default: all)")
    _flags(p, "json")
    p.set_defaults(handler=_cmd_audit_leakage)
    audit.set_defaults(handler=_help_of(audit))

    p = _command(sub, "train", help="train a model on a corpus (default split subject-independent where possible)",
                 example="emolab train --model speech --dataset ravdess ~/corpora/RAVDESS --out runs/speech")
    p.add_argument("--model", required=True, choices=kinds, help="model kind to train")
    _corpus(p)
    p.add_argument("--out", required=True, help="output folder (model.safetensors, history.csv, metrics.json)")
    p.add_argument("--epochs", type=int, default=20, help="most passes over the training split (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="samples per optimisation step (default: %(default)s)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of Adam (default: %(default)s)")
    p.add_argument("--head-lr", type=float, default=0.0, metavar="LR",
                   help="learning rate of the classifier alone, as when fine-tuning a pretrained encoder "
                   "(text --config '{\"encoder\": \"minilm\"}'); 0 means the --lr (default: %(default)s)")
    _seed(p, "weights, batches and augmentation")
    p.add_argument("--patience", type=int, default=8,
                   help="stop after this many epochs without improvement of --monitor; 0: never stop early (default: %(default)s)")
    p.add_argument("--balance", default=None, metavar="METHOD",
                   help="SMOTE method applied to the training split only, e.g. smote, smote+under (default: none)")
    p.add_argument("--max-samples", type=int, default=None, help="train on a random subsample of this many samples (default: all)")
    p.add_argument("--no-class-weights", action="store_true", help="plain cross-entropy (select on accuracy, not balanced accuracy)")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing of the cross-entropy, 0 to 1 (default: %(default)s)")
    p.add_argument("--labels", default="canonical", choices=["canonical", "native"],
                   help="emolab's 7 emotions or the corpus's own label set, e.g. RAVDESS's 8 with calm (default: %(default)s)")
    p.add_argument("--monitor", default=None, choices=["val_accuracy", "val_balanced_accuracy", "val_macro_f1", "val_weighted_f1", "val_loss"],
                   help="validation metric for early stopping and model selection (default: val_balanced_accuracy, "
                   "or val_accuracy with --no-class-weights)")
    p.add_argument("--augment", action="store_true", help="speech: SpecAugment-style time shifts and masks while training (faces are always augmented)")
    p.add_argument("--lowres", type=float, default=0.0, metavar="P",
                   help="faces: probability (0 to 1) that a training face is shrunk to 12-48 px and scaled back, some blurred "
                   "(sigma up to 1.5 px at 48 px) and JPEG-compressed (quality 30-90), to read small faces better (default: %(default)s)")
    p.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA",
                   help="image models: mixup of pairs of training images, mixing weight ~ Beta(ALPHA, ALPHA), e.g. 0.2; 0: off "
                   "(default: %(default)s)")
    p.add_argument("--teacher", default=None, metavar="MODEL[,MODEL]",
                   help="knowledge distillation from trained models of the same kind and labels (paths or bundled names, "
                   "comma-separated: their probabilities are averaged), e.g. 'face,runs/face_b' (default: none)")
    p.add_argument("--distill", type=float, default=0.5, metavar="W",
                   help="with --teacher: weight (0 to 1) of the teachers' softened probabilities in the loss, the labels "
                   "weigh 1 - W (default: %(default)s)")
    p.add_argument("--distill-temperature", type=float, default=2.0, metavar="T",
                   help="with --teacher: softmax temperature of the distillation term (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.pt")
    p.add_argument("--init", default=None, metavar="MODEL",
                   help="start from a trained model: a face2d model to fine-tune (same layout, e.g. the bundled 'face') or to "
                   "inflate into a 3D face branch (I3D), or a text model to fine-tune, its vocabulary extended (default: random weights)")
    p.add_argument("--config", default=None, metavar="JSON",
                   help='model settings as JSON, e.g. \'{"widths": [16, 32, 64, 128]}\' (default: the kind\'s defaults)')
    _flags(p, "json", "quiet")
    p.set_defaults(handler=_cmd_train)

    p = _command(sub, "analyze", help="per-student emotion timelines of lesson recordings (tables + report.html)",
                 example="emolab analyze mon/lesson.mp4 tue/lesson.mp4 --out reports   # reports/mon-lesson, reports/tue-lesson")
    p.add_argument("videos", nargs="+", help="video file(s) or lesson folder(s)")
    p.add_argument("--out", required=True,
                   help="output folder; for several recordings one sub-folder each and index.csv mapping recordings to folders")
    p.add_argument("--transcript", default=None, help="SRT/VTT/CSV transcript (single recording only; default: one beside the video)")
    p.add_argument("--model", default="pretrained",
                   help=f"{' or '.join(LESSON_MODELS)} (the bundled real models, or the synthetic-domain fused model "
                   "for synthetic lessons), or a fused .safetensors file (default: %(default)s)")
    p.add_argument("--sample-fps", type=float, default=5.0, help="frames analysed per second of video (default: %(default)s)")
    p.add_argument("--keyframe-interval", type=float, default=KEYFRAME_INTERVAL, metavar="SECONDS",
                   help="seconds between full face detections, faces followed by template matching between; 0: every "
                   "sampled frame (default: %(default)s)")
    p.add_argument("--smoothing", choices=["none", "ema", "hmm"], default="hmm",
                   help="smoothing of each person's emotions over time (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="re-analyse recordings whose results already exist")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="distribute recordings over the Ray cluster at ADDRESS; without ADDRESS a local Ray (default: no Ray)")
    _flags(p, "quiet")
    p.set_defaults(handler=_cmd_analyze)

    def fl_common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", required=True, choices=kinds, help="model kind to train federatedly")
        p.add_argument("--local-epochs", type=int, default=1, help="epochs each client trains per round (default: %(default)s)")
        p.add_argument("--strategy", choices=["fedavg", "fedprox"], default="fedavg", help="aggregation strategy (default: %(default)s)")
        p.add_argument("--mu", type=float, default=0.01, help="FedProx proximal weight (default: %(default)s)")
        p.add_argument("--balance", default=None, metavar="METHOD",
                       help="SMOTE method applied on each client's training part, e.g. smote (default: none)")
        p.add_argument("--dp-noise", type=float, default=0.0, help="differential privacy: noise multiplier; 0: off (default: %(default)s)")
        p.add_argument("--dp-clip", type=float, default=1.0, help="differential privacy: clipping norm of each update (default: %(default)s)")
        p.add_argument("--batch-size", type=int, default=16, help="samples per local optimisation step (default: %(default)s)")
        _seed(p, "weights, batches and the partition")
        p.add_argument("--config", default=None, metavar="JSON", help="model settings as JSON (default: the kind's defaults)")

    p = _command(sub, "federate", help="federated training on Flower (local simulation, one client per school/group)",
                 example="emolab federate --dataset synthetic out/trainset --model fused --clients 3 --rounds 3")
    _corpus(p)
    p.add_argument("--clients", type=int, default=3, help="number of simulated clients (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=2, help="federated rounds (default: %(default)s)")
    p.add_argument("--partition", default="groups",
                   help="how samples go to clients: groups | dirichlet:ALPHA | column:NAME, e.g. column:school (default: %(default)s)")
    p.add_argument("--centralized", action="store_true", help="also train centrally on the same data, for comparison")
    p.add_argument("--out", default=None, help="folder for history.csv, model.safetensors and federated.json (default: write nothing)")
    _flags(p, "json")
    fl_common(p)
    p.set_defaults(handler=_cmd_federate)

    p = _command(sub, "federate-split", help="write each client's data file (deployment demo on one machine)",
                 example="emolab federate-split --dataset synthetic out/trainset --model fused --out clients")
    _corpus(p)
    p.add_argument("--model", required=True, choices=kinds, help="model kind the files are prepared for")
    p.add_argument("--clients", type=int, default=3, help="number of clients (default: %(default)s)")
    p.add_argument("--partition", default="groups", help="groups | dirichlet:ALPHA | column:NAME (default: %(default)s)")
    _seed(p, "the partition")
    p.add_argument("--out", required=True, help="folder for client0.npz, client1.npz, ... and model_config.json")
    p.set_defaults(handler=_cmd_federate_split)

    p = _command(sub, "federate-server", help="run the Flower server of a real deployment",
                 example="emolab federate-server --clients 2 --model fused --model-config-file clients/model_config.json --out fl")
    p.add_argument("--address", default="127.0.0.1:8080", help="HOST:PORT to listen on (default: %(default)s)")
    p.add_argument("--clients", type=int, required=True, help="number of clients to wait for")
    p.add_argument("--rounds", type=int, default=2, help="federated rounds (default: %(default)s)")
    p.add_argument("--model-config-file", default=None, help="model settings written by federate-split (default: none)")
    p.add_argument("--out", default=None, help="folder for history.csv and model.safetensors (default: write nothing)")
    fl_common(p)
    p.set_defaults(handler=_cmd_federate_server)

    p = _command(sub, "federate-client", help="run one institution's Flower client on its own data file",
                 example="emolab federate-client --cid 0 --data clients/client0.npz --model fused "
                 "--model-config-file clients/model_config.json")
    p.add_argument("--address", default="127.0.0.1:8080", help="HOST:PORT of the server (default: %(default)s)")
    p.add_argument("--cid", type=int, required=True, help="this client's number, from 0")
    p.add_argument("--data", required=True, help="this institution's client .npz (see federate-split)")
    p.add_argument("--model-config-file", default=None, help="model settings written by federate-split (default: none)")
    fl_common(p)
    p.set_defaults(handler=_cmd_federate_client)

    p = _command(sub, "evaluate", help="evaluate a saved or bundled model on a corpus",
                 example="emolab evaluate --model face --dataset ckplus ~/corpora/CK+48 --split all")
    p.add_argument("--model", required=True,
                   help=f"a .safetensors file, a training output folder, or a bundled model: {', '.join(BUNDLED_MODELS)}")
    _corpus(p)
    p.add_argument("--split", default=None,
                   help="all (every labelled row), val (the model-selection split), unseen (the subjects the model file "
                   "says it was neither trained nor selected on) or an official split name (e.g. validation, dev, test); "
                   "default: unseen when the model was trained on this corpus and the corpus has such subjects, else val; "
                   "all for a model trained elsewhere")
    p.add_argument("--max-samples", type=int, default=None, help="score a random subsample of this many rows (default: all)")
    p.add_argument("--classes", choices=("auto", "corpus", "model"), default="auto",
                   help="the answers allowed: auto = a corpus's documented emotions where it has fewer than the model (no "
                   "neutral in CK+ and eNTERFACE'05, no surprise in CREMA-D and Emo-DB), else all; corpus = the classes its "
                   "rows label; model = every class of the model (default: %(default)s)")
    p.add_argument("--predictions", metavar="CSV", default=None,
                   help="also write one row per scored sample (sample id, subject, truth, answer, every class's probability) to this "
                   "file (default: none written)")
    p.add_argument("--overwrite", action="store_true", help="replace the --predictions file if it exists")
    _flags(p, "json", "quiet")
    p.set_defaults(handler=_cmd_evaluate)
    return parser


def _help_of(parser: argparse.ArgumentParser) -> Handler:
    def show(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 1

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 1
    try:
        return int(args.handler(args) or 0)
    except EmolabError as exc:
        if args.debug:
            raise
        print(f"emolab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emolab: interrupted; completed results were kept", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
