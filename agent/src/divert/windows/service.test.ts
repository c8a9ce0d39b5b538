import { hostConfigPath, serviceCommands, serviceHostConfig, type ServiceDefinition } from './service';

const def: ServiceDefinition = {
  name: 'PortfleetAgent',
  displayName: 'Portfleet agent',
  description: 'Port forwarding agent (WinDivert)',
  hostPath: 'C:\\Program Files\\Portfleet\\agent\\service\\portfleet-agent-service.exe',
  nodePath: 'C:\\Program Files\\nodejs\\node.exe',
  agentScript: 'C:\\Program Files\\Portfleet\\agent\\bin\\portfleet-agent.js',
  args: ['--state-dir', 'C:\\ProgramData\\Portfleet'],
  env: { PORTFLEET_WINDIVERT_DIR: 'C:\\Program Files\\Portfleet\\agent\\windivert' },
};

describe('Windows service command lines (sc.exe)', () => {
  it('installs as an auto-start service hosted by WinSW, depending on the Base Filtering Engine, restarting on failure', () => {
    expect(serviceCommands(def, 'install')).toEqual([
      ['create', 'PortfleetAgent', 'binPath=', '"C:\\Program Files\\Portfleet\\agent\\service\\portfleet-agent-service.exe"', 'start=', 'auto', 'DisplayName=', 'Portfleet agent', 'depend=', 'BFE'],
      ['description', 'PortfleetAgent', 'Port forwarding agent (WinDivert)'],
      ['failure', 'PortfleetAgent', 'reset=', '86400', 'actions=', 'restart/5000/restart/5000/restart/60000'],
    ]);
  });

  it('starts, stops and uninstalls (the shared WinDivert driver only when asked)', () => {
    expect(serviceCommands(def, 'start')).toEqual([['start', 'PortfleetAgent']]);
    expect(serviceCommands(def, 'stop')).toEqual([['stop', 'PortfleetAgent']]);
    expect(serviceCommands(def, 'uninstall')).toEqual([
      ['stop', 'PortfleetAgent'],
      ['delete', 'PortfleetAgent'],
    ]);
    expect(serviceCommands(def, 'uninstall', { removeDriver: true }).slice(2)).toEqual([
      ['stop', 'WinDivert'],
      ['delete', 'WinDivert'],
    ]);
  });

  it('refuses a service name sc.exe would misread', () => {
    expect(() => serviceCommands({ ...def, name: 'Portfleet Agent' }, 'start')).toThrow(/service name "Portfleet Agent"/);
  });

  it('writes the service host config beside it, node running the agent with quoted paths', () => {
    expect(hostConfigPath(def)).toBe('C:\\Program Files\\Portfleet\\agent\\service\\portfleet-agent-service.xml');
    const xml = serviceHostConfig(def);
    expect(xml).toContain('<id>PortfleetAgent</id>');
    expect(xml).toContain('<executable>C:\\Program Files\\nodejs\\node.exe</executable>');
    expect(xml).toContain('<arguments>&quot;C:\\Program Files\\Portfleet\\agent\\bin\\portfleet-agent.js&quot; run --state-dir C:\\ProgramData\\Portfleet</arguments>');
    expect(xml).toContain('<env name="PORTFLEET_WINDIVERT_DIR" value="C:\\Program Files\\Portfleet\\agent\\windivert"/>');
    expect(xml).toContain('<onfailure action="restart" delay="5 sec"/>');
  });
});
