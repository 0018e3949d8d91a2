import sys

import lightning as L
import yaml

from train.model import Classifier


def load_config(path):
    with open(path) as f:
        return yaml.load(f)


def main(config_path):
    config = load_config(config_path)
    model = Classifier(lr=config["lr"])
    trainer = L.Trainer(accelerator="gpu", max_epochs=config["epochs"])
    trainer.fit(model)


if __name__ == "__main__":
    main(sys.argv[1])
