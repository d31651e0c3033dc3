"""Summarize `sigmax-nn train --json` reports (one file per head and seed) as a Markdown
table: mean ± std over seeds of the test closed-set accuracy and, when the test data had
classes the head never saw, of the open-set verification figures."""
import json
import statistics
import sys
from collections import OrderedDict


def mean_std(values, scale=100.0, digits=2):
    if not values:
        return "—"
    m = statistics.mean(values) * scale
    if len(values) == 1:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def net_name(net, dim):
    if "Mlp" in net:
        return "MLP " + "-".join(str(v) for v in [784] + net["Mlp"]["hidden"] + [dim])
    c = net["Cnn"]
    return f"CNN conv3x3({c['channels'][0]})-pool-conv3x3({c['channels'][1]})-pool-fc{c['hidden']}-fc{dim}"


def main(files):
    by_head = OrderedDict()
    for path in files:
        r = json.load(open(path))
        name = path.rsplit("/", 1)[-1].rsplit("-seed", 1)[0]
        by_head.setdefault(name, []).append(r)
    first = next(iter(by_head.values()))[0]
    cfg = first["config"]
    open_set = first["test"].get("open_set") is not None
    secs = [h["seconds"] for rs in by_head.values() for r in rs for h in r["history"]]
    print(f"network {net_name(cfg['model']['net'], cfg['model']['dim'])}, {cfg['epochs']} epochs, batch {cfg['batch_size']}, "
          f"optimizer {cfg['optimizer']} lr {cfg['lr']} ({cfg['schedule']}), weight decay {cfg['weight_decay']}, "
          f"trained on classes {cfg['model']['classes']} of {cfg['data']}; test {first['test']['data']}; "
          f"median epoch {statistics.median(secs):.1f} s\n")
    if open_set:
        print("| head | seeds | closed-set accuracy % | verification accuracy % | ROC AUC | EER % | TAR@FAR=1e-2 % |")
        print("|---|---|---|---|---|---|---|")
    else:
        print("| head | seeds | test accuracy % | final train loss |")
        print("|---|---|---|---|")
    for name, rs in by_head.items():
        closed = [r["test"]["closed_set"]["accuracy"] for r in rs]
        if open_set:
            o = [r["test"]["open_set"] for r in rs]
            print(f"| {name} | {len(rs)} | {mean_std(closed)} | {mean_std([v['accuracy_mean'] for v in o])} | "
                  f"{mean_std([v['auc'] for v in o], 1.0, 4)} | {mean_std([v['eer'] for v in o])} | {mean_std([v['tar_at_far_1e2'] for v in o])} |")
        else:
            loss = [r["history"][-1]["loss"] for r in rs]
            print(f"| {name} | {len(rs)} | {mean_std(closed)} | {mean_std(loss, 1.0, 4)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
