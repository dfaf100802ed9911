"""mmssc.tool_launcher: a tool run through the tool server behaves as `python tool.py ARGS` run with subprocess."""
import json
import os
import sys

import pytest

from mmssc import tool_launcher
from mmssc.tool_launcher import SUBPROCESS_ENV, forks, run_tool

TOOL = '''import json, os, sys
sys.stdin.read()  # the tool's stdin is empty, never the server's requests
def main():
    out, how = sys.argv[1], sys.argv[2]
    with open(out, 'w') as f:
        json.dump(dict(argv=sys.argv[1:], cwd=os.getcwd(), mark=os.environ.get('MARK'), name=__name__,
                       first_path=sys.path[0]), f)
    if how == 'raise':
        raise ValueError('a bad input')
    if how == 'message':
        sys.exit('a message')
    return int(how)
if __name__ == '__main__':
    sys.exit(main())
'''


def _run_both(tmp_path, monkeypatch, how):
    script = tmp_path / 'tool.py'
    script.write_text(TOOL)
    env = dict(os.environ, MARK='from the caller')
    results = []
    for subprocess_only in ('0', '1'):
        monkeypatch.setenv(SUBPROCESS_ENV, subprocess_only)
        assert forks([sys.executable, str(script)]) == (subprocess_only == '0')
        out = tmp_path / f'out{subprocess_only}.json'
        code = run_tool([sys.executable, str(script), str(out), how], cwd=str(tmp_path), env=env)
        seen = json.loads(out.read_text())
        seen['argv'][0] = 'OUT'   # the two runs write to different files
        results.append((code, seen))
    return results


@pytest.mark.parametrize('how, code', [('0', 0), ('3', 3), ('raise', 1), ('message', 1)])
def test_a_served_tool_sees_what_a_subprocess_sees_and_exits_alike(tmp_path, monkeypatch, how, code):
    served, subprocessed = _run_both(tmp_path, monkeypatch, how)
    assert served == subprocessed
    assert served[0] == code
    assert served[1]['name'] == '__main__' and served[1]['mark'] == 'from the caller'
    assert os.path.realpath(served[1]['cwd']) == os.path.realpath(str(tmp_path))
    assert os.path.realpath(served[1]['first_path']) == os.path.realpath(str(tmp_path))  # the script's folder


def test_the_server_is_started_once_and_other_command_lines_use_subprocess(tmp_path, monkeypatch):
    monkeypatch.setenv(SUBPROCESS_ENV, '0')
    script = tmp_path / 'tool.py'
    script.write_text(TOOL)
    for k in range(2):
        assert run_tool([sys.executable, str(script), str(tmp_path / 'o.json'), '0'], cwd=str(tmp_path)) == 0
        if k == 0:
            server = tool_launcher._server[0]
    assert tool_launcher._server[0] is server and server.poll() is None
    assert not forks(['bash', 'tools/dist_train.sh', 'config.py', '2'])
    assert not forks(['/another/python', str(script)])
    assert not forks([sys.executable, '-m', 'torch.distributed.run', str(script)])
    assert run_tool(['bash', '-c', 'exit 4'], cwd=str(tmp_path)) == 4



def test_a_server_that_died_is_replaced_by_a_new_one(tmp_path, monkeypatch):
    monkeypatch.setenv(SUBPROCESS_ENV, '0')
    script = tmp_path / 'tool.py'
    script.write_text(TOOL)
    args = [sys.executable, str(script), str(tmp_path / 'o.json'), '0']
    assert run_tool(args, cwd=str(tmp_path)) == 0
    dead = tool_launcher._server[0]
    dead.kill()
    dead.wait()
    assert run_tool(args, cwd=str(tmp_path)) == 0
    assert tool_launcher._server[0] is not dead and tool_launcher._server[0].poll() is None
