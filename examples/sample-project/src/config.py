import yaml


def load_config(path):
    with open(path) as f:
        return yaml.load(f, Loader=yaml.FullLoader)


def save_config(cfg, path):
    with open(path, "w") as f:
        yaml.dump(cfg, f, default_flow_style=None)
