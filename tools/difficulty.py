#!/usr/bin/env python3
"""How hard is a seed-layout data set? Two reference points on its hidden test labels.

(a) logistic regression on raw pixels (scikit-learn), trained on Xtrain1/Ytrain1;
(b) the seed network by the slides' recipe in Keras: stratified 80/20 split (random_state
    42), Adam lr 3e-4 for 75 epochs keeping the best weights by validation loss, then
    pseudo-labels p < 0.25 on Xtrain1_extra as class 0 and a fresh model at lr 4e-4 for 50
    epochs on the union; test F1 at threshold 0.5 after each stage.

Used to tune the generator before the Rust model existed. Not run by CI (needs TensorFlow):

    python3 -m venv venv && venv/bin/pip install tensorflow-cpu scikit-learn numpy
    venv/bin/python tools/difficulty.py data/default [--seed 42] [--only lr|cnn]

Prints one JSON line.
"""
import argparse, json, os, tempfile, time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, recall_score
from sklearn.model_selection import train_test_split


def load(d, name):
    return np.load(os.path.join(d, name))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--only", choices=["lr", "cnn"])
    a = p.parse_args()
    X = load(a.dir, "Xtrain1.npy").reshape(-1, 2304).astype(np.float32) / 255
    y = load(a.dir, "Ytrain1.npy").reshape(-1)
    Xe = load(a.dir, "Xtrain1_extra.npy").reshape(-1, 2304).astype(np.float32) / 255
    ye = load(a.dir, "Ytrain1_extra_hidden.npy").reshape(-1)
    Xt = load(a.dir, "Xtest1.npy").reshape(-1, 2304).astype(np.float32) / 255
    yt = load(a.dir, "Ytest1_hidden.npy").reshape(-1)
    out = {}
    if a.only in (None, "lr"):
        lr = LogisticRegression(max_iter=2000).fit(X, y)
        out["logreg_test_f1"] = round(f1_score(yt, lr.predict(Xt)), 4)
        out["all_positive_test_f1"] = round(f1_score(yt, np.ones_like(yt)), 4)
    if a.only in (None, "cnn"):
        import keras
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        keras.utils.set_random_seed(a.seed)
        img = lambda v: v.reshape(-1, 48, 48, 1)
        Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
        best = os.path.join(tempfile.mkdtemp(), "best.weights.h5")

        def fit(xs, ys, rate, epochs):
            m = keras.Sequential([
                keras.Input((48, 48, 1)),
                keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(3),
                keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(), keras.layers.Dense(8, activation="relu"),
                keras.layers.Dropout(0.5), keras.layers.Dense(1, activation="sigmoid"),
            ])
            m.compile(keras.optimizers.Adam(rate), "binary_crossentropy")
            keep = keras.callbacks.ModelCheckpoint(best, save_best_only=True, save_weights_only=True)
            m.fit(img(xs), ys, validation_data=(img(Xva), yva), epochs=epochs, batch_size=32,
                  verbose=0, callbacks=[keep])
            m.load_weights(best)
            return m

        def score(m):
            pv = m.predict(img(Xva), verbose=0).ravel()
            pt = m.predict(img(Xt), verbose=0).ravel()
            return {"val_f1": round(f1_score(yva, pv >= .5), 4), "val_loss": round(log_loss(yva, pv), 4),
                    "val_accuracy": round(accuracy_score(yva, pv >= .5), 4),
                    "test_f1": round(f1_score(yt, pt >= .5), 4), "test_recall": round(recall_score(yt, pt >= .5), 4)}

        t0 = time.time()
        first = fit(Xtr, ytr, 3e-4, 75)
        out["stage1"] = score(first)
        pick = first.predict(img(Xe), verbose=0).ravel() < 0.25
        out["pseudo_labels"] = {"added": int(pick.sum()),
                                "precision": round(float((ye[pick] == 0).mean()), 4) if pick.any() else None}
        final = fit(np.concatenate([Xtr, Xe[pick]]), np.concatenate([ytr, np.zeros(pick.sum(), ytr.dtype)]), 4e-4, 50)
        out["stage2"] = score(final)
        out["seconds"] = round(time.time() - t0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
